"""Who may call the gateway: SigV4 verification (``sigv4``), access-key stores (``keys``,
``local_store``), the authenticator the endpoints ask (``authenticator``) and the admin token."""
