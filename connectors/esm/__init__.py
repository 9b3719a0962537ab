"""G마켓/옥션 (ESM Trading API): JWT auth, the bulletin board and 긴급알리미."""
