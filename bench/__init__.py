"""Benchmarks run by `make bench`: cold start, per-record overhead, package sizes."""
