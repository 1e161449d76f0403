"""Benchmarks. Not part of the installed package; run from a checkout (see docs/benchmarks.md)."""
