"""Speed and memory measurements (not tests). Each prints a table and, last, one JSON line.

Run them with `scnas bench NAME`; scnas.commands.bench names their modules and imports the
chosen one only when it runs, so `scnas` starts without loading them.
"""
