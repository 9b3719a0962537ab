"""The Coupang WING sandbox: signature check, windows, paging, generated inquiries."""
