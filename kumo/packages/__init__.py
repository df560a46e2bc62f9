"""Deployment packages: code + vendored requirements, built once into a content-addressed cache.

`plan` is pure (content address, pip command line, zip entry checks); `build` does the I/O.
"""
