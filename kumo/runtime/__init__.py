"""Function instances: the runtime host that serves the Lambda Runtime API to a language runtime."""
