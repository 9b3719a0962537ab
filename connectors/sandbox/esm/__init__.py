"""The ESM Trading API sandbox: JWT check, board and 긴급알리미, generated inquiries."""
