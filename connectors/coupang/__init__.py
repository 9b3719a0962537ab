"""Coupang (WING Open API): CEA HMAC auth, the product Q&A and call-center streams."""
