"""Kubernetes shared by the gateway and the operator: object names, API configuration, the API client."""
