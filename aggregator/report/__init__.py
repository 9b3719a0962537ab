"""The answer-time report: read from the store (`reading`), in words (`text`), as pictures (`chart`, matplotlib loaded
only when something is drawn)."""
