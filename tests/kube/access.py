"""Who is calling the emulator, what each caller may do, and a record of every request served.

Bearer tokens map to users: the test driver's token (``cluster.TOKEN``) is the unrestricted
``kumo-test`` user (kubectl, helm and the tests' own requests act as cluster-admin); a request with no
token is the unrestricted ``system:anonymous`` (the stand-in controllers, which play
kube-controller-manager); a token registered with ``add_token`` is that user, typically a service
account (``system:serviceaccount:<ns>:<name>``); any other token is answered 401 Unauthorized.

Every request is recorded as a ``Call`` (user, RBAC attributes, allowed?). Service accounts are
checked against ``policy`` (an ``rbac.Policy``, e.g. the Helm chart's rendered RBAC); with
``enforce`` a call the policy does not grant is answered 403 Forbidden (Kubernetes ``Status``
wording) at the point of the call, and ``unauthorised()`` lists it either way.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from api_types import ApiError
from rbac import SA_PREFIX, Attributes, Policy, request_attributes

ADMIN_TOKEN, ADMIN_USER, ANONYMOUS = "kumo-test-token", "kumo-test", "system:anonymous"


@dataclass(frozen=True)
class Call:
    user: str
    attrs: Attributes
    allowed: bool

    def __str__(self) -> str:
        return f"{self.user}: {self.attrs}"


def forbidden(user: str, attrs: Attributes) -> ApiError:
    """The 403 kube-apiserver answers when RBAC denies a request."""
    if not attrs.resource_request:
        return ApiError(403, "Forbidden", f'forbidden: User "{user}" cannot {attrs.verb} path "{attrs.path}"')
    resource = attrs.resource.split("/")[0]
    qualified = f"{resource}.{attrs.group}" if attrs.group else resource
    subject = f'{qualified} "{attrs.name}"' if attrs.name else qualified
    where = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    message = (
        f'{subject} is forbidden: User "{user}" cannot {attrs.verb} resource "{attrs.resource}" '
        f'in API group "{attrs.group}" {where}'
    )
    return ApiError(403, "Forbidden", message, {"name": attrs.name, "group": attrs.group, "kind": resource})


@dataclass
class AccessControl:
    admin_token: str = ADMIN_TOKEN
    policy: Policy | None = None
    enforce: bool = False
    tokens: dict[str, str] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_token(self, token: str, user: str) -> None:
        with self._lock:
            self.tokens[token] = user

    def user_for(self, authorization: str | None) -> str:
        if not authorization:
            return ANONYMOUS
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() == "bearer" and token == self.admin_token:
            return ADMIN_USER
        if scheme.lower() == "bearer" and token in self.tokens:
            return self.tokens[token]
        raise ApiError(401, "Unauthorized", "Unauthorized")

    def check(
        self,
        authorization: str | None,
        method: str,
        path: str,
        query: Mapping[str, str],
        impersonate: str | None = None,
    ) -> Call:
        """Authenticate, record and authorise one request; raises 401/403 ``ApiError``s.

        ``impersonate`` is the ``Impersonate-User`` header (``kubectl --as``), honoured for the unrestricted
        users (as cluster-admin may impersonate); a service account may not impersonate."""
        user = self.user_for(authorization)
        if impersonate:
            if user.startswith(SA_PREFIX):
                raise ApiError(
                    403, "Forbidden", f'users "{impersonate}" is forbidden: User "{user}" cannot impersonate'
                )
            user = impersonate
        attrs = request_attributes(method, path, query)
        restricted = self.policy is not None and user.startswith(SA_PREFIX)
        call = Call(user, attrs, not restricted or self.policy.allows(user, attrs))  # type: ignore[union-attr]
        with self._lock:
            self.calls.append(call)
        if not call.allowed and self.enforce:
            raise forbidden(user, attrs)
        return call

    def served(self, user_prefix: str = SA_PREFIX) -> set[tuple[str, Attributes]]:
        """Distinct (user, attributes) of recorded calls by users starting with ``user_prefix``."""
        with self._lock:
            return {(c.user, c.attrs) for c in self.calls if c.user.startswith(user_prefix)}

    def unauthorised(self) -> list[Call]:
        """Distinct recorded calls the policy does not grant (re-checked against the current policy)."""
        if self.policy is None:
            return []
        denied = {(u, a) for u, a in self.served() if not self.policy.allows(u, a)}
        return [Call(u, a, False) for u, a in sorted(denied)]
