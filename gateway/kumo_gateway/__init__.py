"""Kumo gateway: the Lambda Invoke API and API Gateway-style routes in front of a provider."""
