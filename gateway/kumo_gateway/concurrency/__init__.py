"""Concurrency limits: an account-wide limit and per-function reserved concurrency, counted in Redis."""
