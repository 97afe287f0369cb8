"""Benchmarks (issue 7): `make bench`. Not part of the pass/fail suite; see docs/PERFORMANCE.md."""
