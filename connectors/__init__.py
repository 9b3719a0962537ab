"""Inbound marketplace connectors, one module per marketplace API."""
