"""Api authorizers: JWT (``jwt_verify``, keys from ``jwks``/``secrets``) and Lambda (``lambda_events``),
identity sources (``identity``), the shared decision cache (``cache``) and the endpoint's one entry (``gate``)."""
