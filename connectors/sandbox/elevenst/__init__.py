"""The 11번가 Open API sandbox: openapikey, EUC-KR XML, generated inquiries."""
