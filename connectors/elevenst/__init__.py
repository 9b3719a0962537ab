"""11번가 (Open API): product Q&A and 긴급알리미 in EUC-KR XML."""
