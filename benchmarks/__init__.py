"""Speed and memory measurements (not tests). Each prints a table and, last, one JSON line.

Run them with `scnas bench NAME`; scnas.commands.bench names their modules (the suite never
imports this package: the benchmarks sit above it).
"""
