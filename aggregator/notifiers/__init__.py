"""Outbound channels to the work phone, one module per channel."""
