"""Answering from inqd: the seller's approved answers posted through each marketplace's own API, exactly once."""
