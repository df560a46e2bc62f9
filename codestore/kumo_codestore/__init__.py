"""Kumo's code store: deployment packages and layer archives by SHA-256, on a PersistentVolume."""
