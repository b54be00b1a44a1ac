"""Benchmarks of the pipeline against the raw limits of a Python pipeline on the same machine.

`python -m bench` (or `make bench`) runs every figure once and writes docs/benchmarks.md and
docs/benchmarks.json; `python -m bench --smoke` runs tiny sizes, for the tests.
"""
