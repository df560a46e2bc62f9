"""Print a JWT the pets Api's "partners" authorizer accepts: HS256 with the secret in
KUMO_SECRET_PARTNERS_JWT_SECRET, issuer https://partners.example, audience pets, scope pets/write,
valid for 10 minutes. Usage: TOKEN=$(python examples/pets/mint_token.py [subject])"""

import os
import sys
import time

import jwt  # PyJWT, a Kumo dependency

secret = os.environ.get("KUMO_SECRET_PARTNERS_JWT_SECRET")
if not secret:
    sys.exit("set KUMO_SECRET_PARTNERS_JWT_SECRET (the same value kumo up was started with)")
now = int(time.time())
claims = {
    "iss": "https://partners.example",
    "aud": "pets",
    "sub": sys.argv[1] if len(sys.argv) > 1 else "partner-1",
    "scope": "pets/write",
    "iat": now,
    "exp": now + 600,
}
print(jwt.encode(claims, secret, algorithm="HS256"))
