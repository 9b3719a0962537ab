"""Pure policy functions: configuration, state and `now` in, a decision with a reason out."""
