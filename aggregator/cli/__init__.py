"""The `inqd` command: argument parsing, the read-only reports and the seller-control commands."""
