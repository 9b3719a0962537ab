"""The kernel every layer shares: domain types, the clock, the HTTP/TLS helper and masking (stdlib + httpx)."""

__version__ = "0.1.0"
