"""The Naver Commerce API sandbox: token flow, rate headers, paging, generated inquiries."""
