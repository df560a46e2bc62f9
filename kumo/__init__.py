"""Kumo: Lambda-, API Gateway- and DynamoDB-style serverless on Kubernetes or one laptop."""

__version__ = "0.1.0"
