"""Tests of the benchmark reporting (not the benchmarks themselves)."""
