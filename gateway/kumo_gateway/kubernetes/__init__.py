"""The gateway's Kubernetes provider: watches Functions, Apis and EndpointSlices, wakes Deployments
from zero through the scale subresource, forwards invocations to pod IPs and reports load to Redis."""
