"""Benchmarks: each module's ``run()`` returns rows of goal vs measured vs a same-run baseline."""
