"""What the Lambda and DynamoDB endpoints ask before they serve: who signed this, and may they do it?

:class:`Authenticator` verifies SigV4 against a key ring and evaluates the key's policy. ``NO_AUTH``
is the explicit choice to serve without authentication (``kumo up --insecure-no-auth``, tests about
something else); the gateway has no silent default.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kumo.access_keys import AccessKey
from kumo.policy import ALLOW_ALL, Policy
from kumo_gateway.auth import errors, sigv4, sigv4_botocore
from kumo_gateway.auth.errors import AuthFailure
from kumo_gateway.auth.keys import KeyLookup


@dataclass(frozen=True)
class Identity:
    access_key_id: str
    name: str
    policy: Policy


ANONYMOUS = Identity("", "anonymous", ALLOW_ALL)

#: Told of every refusal: ``(service, error code)`` (the gateway's ``kumo_auth_failures_total``).
FailureObserver = Callable[[str, str], None]


class Authenticator:
    """SigV4 against ``keys``; ``clock`` (seconds since the epoch) is injectable for tests."""

    enabled = True

    def __init__(self, keys: KeyLookup, *, clock: Callable[[], float] = time.time, account_id: str = "000000000000"):
        self.keys = keys
        self.verifier = sigv4.SigV4Verifier(clock)
        self.account_id = account_id
        self.observers: list[FailureObserver] = []
        self._identities: dict[str, tuple[AccessKey, Identity]] = {}

    def observe_failures(self, observer: FailureObserver) -> None:
        """Call ``observer(service, code)`` for every refused request (metrics)."""
        self.observers.append(observer)

    def _refused(self, service: str, failure: AuthFailure) -> AuthFailure:
        for observer in self.observers:
            observer(service, failure.code.value)
        return failure

    def authenticate(
        self, service: str, method: str, raw_path: str, query: str, headers: sigv4.Headers, body: bytes
    ) -> Identity | AuthFailure:
        """The caller's identity, or why the request is refused (never raises)."""
        try:  # the common case first, in one pass; the general verifier decides everything else
            key = sigv4_botocore.accepts(self.keys, self.verifier, service, method, raw_path, query, headers, body)
        except (ValueError, UnicodeError):
            key = None
        if key is not None:
            return self._identity(key)
        outcome = self._authenticate(service, method, raw_path, query, headers, body)
        if isinstance(outcome, AuthFailure) and self.observers:
            self._refused(service, outcome)
        return outcome

    def _authenticate(
        self, service: str, method: str, raw_path: str, query: str, headers: sigv4.Headers, body: bytes
    ) -> Identity | AuthFailure:
        try:
            parsed = sigv4.parse(query, headers, service)
            if isinstance(parsed, AuthFailure):
                return parsed
            key = self.keys.lookup(parsed.access_key_id)
            if key is None:
                return errors.unrecognized()
            failure = self.verifier.verify(
                parsed, key.secret_access_key, service, method, raw_path, query, headers, body
            )
        except (ValueError, UnicodeError):  # nothing a client sends should get further than this
            return errors.incomplete("The request's signature could not be parsed.")
        if failure is not None:
            return failure
        return self._identity(key)

    def _identity(self, key: AccessKey) -> Identity:
        """The identity of ``key`` (made once per key object: a replaced key gets a new one)."""
        known = self._identities.get(key.access_key_id)
        if known is None or known[0] is not key:
            if len(self._identities) >= 4096:
                self._identities.clear()
            known = self._identities[key.access_key_id] = (key, Identity(key.access_key_id, key.name, key.policy))
        return known[1]

    def authorize(
        self, identity: Identity, action: str, resources: Sequence[str], resource_arn: str
    ) -> AuthFailure | None:
        if identity.policy.allows(action, resources):
            return None
        user = f"arn:aws:iam::{self.account_id}:user/{identity.name or identity.access_key_id}"
        return self._refused(action.partition(":")[0], errors.access_denied(user, action, resource_arn))


class NoAuth:
    """Serve everyone (an explicit, named choice: ``NO_AUTH``)."""

    enabled = False

    def observe_failures(self, observer: FailureObserver) -> None:
        """Nothing is ever refused."""

    def authenticate(
        self, service: str, method: str, raw_path: str, query: str, headers: sigv4.Headers, body: bytes
    ) -> Identity | AuthFailure:
        return ANONYMOUS

    def authorize(
        self, identity: Identity, action: str, resources: Sequence[str], resource_arn: str
    ) -> AuthFailure | None:
        return None


NO_AUTH = NoAuth()

#: What ``create_app(auth=...)`` takes.
Auth = Authenticator | NoAuth
