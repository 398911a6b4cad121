"""Benchmarks: pytest-benchmark micro-benchmarks (``make bench``) and scripts that
print one JSON line per metric (``python -m bench.core``)."""
