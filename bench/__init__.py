"""Benchmarks: printed figures and ratios, run with `make bench`; never part of the test suite."""
