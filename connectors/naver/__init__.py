"""Naver Smart Store (Commerce API): bcrypt token auth, product Q&A and customer inquiries."""
