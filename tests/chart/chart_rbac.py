"""The chart's RBAC, rendered by the real helm, enforced by the emulator on the chart's service accounts.

``enforce_chart_rbac(api)`` renders charts/kumo (``helm template``), loads its Roles/ClusterRoles and
bindings (plus the bootstrap ``system:discovery`` grant) into the emulator's ``AccessControl`` with
enforcement on, and returns the service-account user of each component (``operator``, ``gateway``).
Start a component with ``api.env_as(user)`` and it calls the emulator as that service account: calls the
chart does not grant are answered 403 at once, and ``assert_only_granted_calls`` (run at fixture
teardown) fails listing every such call, even one the component tolerated.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kube"))

from access import AccessControl
from chart_render import render
from rbac import BOOTSTRAP, Policy, service_account_user

RBAC_KINDS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
RELEASE_NAMESPACE = "kumo"


def chart_policy(*values: str, namespace: str = RELEASE_NAMESPACE) -> tuple[Policy, dict[str, str]]:
    """The rendered chart's RBAC as a ``Policy``, and ``{component: service-account user}``."""
    objects = render(*values, namespace=namespace)
    users = {
        o["metadata"]["labels"]["app.kubernetes.io/component"]: service_account_user(
            o["metadata"]["namespace"], o["metadata"]["name"]
        )
        for o in objects
        if o["kind"] == "ServiceAccount"
    }
    return Policy([*BOOTSTRAP, *(o for o in objects if o["kind"] in RBAC_KINDS)]), users


def enforce_chart_rbac(api: Any, *values: str) -> dict[str, str]:
    """Make the emulator behind ``api`` enforce the chart's RBAC; the component -> user map."""
    policy, users = chart_policy(*values)
    control: AccessControl = api.emulator.access_control
    control.policy, control.enforce = policy, True
    return users


def assert_only_granted_calls(control: AccessControl, *users: str) -> None:
    """Fail listing every call a service account made that the policy does not grant; and fail if the
    given users made no call at all (the check would then prove nothing)."""
    denied = control.unauthorised()
    assert not denied, "calls the chart's RBAC does not grant:\n" + "\n".join(f"  {c}" for c in denied)
    callers = {user for user, _ in control.served()}
    missing = [u for u in users if u not in callers]
    assert not missing, f"no call recorded for {missing}; they did not run as their service account"
