"""`inqd init`: the guided setup (questions, account checks, writing the config and secrets)."""
