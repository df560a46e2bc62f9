"""The ``kumo`` command: the one place that may import every package.

Each command imports the code of the process it starts lazily, so ``kumo --help`` stays fast.
"""
