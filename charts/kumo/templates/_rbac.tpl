{{/*
RBAC rules, least privilege. Namespaced rules go into a Role (watchNamespace set) or a
ClusterRole (every namespace); cluster-only rules exist only for a cluster-wide install.
*/}}

{{/* Gateway: read Functions/Apis/Tables, create/update/delete Functions (the Lambda management API:
CreateFunction, UpdateFunction*, DeleteFunction write Function resources), map versions to Deployments, wake them via /scale,
find instances through EndpointSlices, post Events, read Secrets: access keys (labelled
kumo.dev/access-key; the operator writes one per Function, in the Function's namespace, so the
gateway reads Secrets where Functions live), API keys (labelled kumo.dev/api-key=true; only their
hashes reach Redis) and JWT authorizers' secretRefs; list and create ConfigMaps: one per layer version
(PublishLayerVersion, DeleteLayerVersion's tombstone), never updated or deleted, so it cannot change the
ConfigMaps that hold function code. Nothing else. */}}
{{- define "kumo.gateway.rules" -}}
- apiGroups: ["kumo.dev"]
  resources: ["functions"]
  verbs: ["get", "list", "watch", "create", "update", "delete"]
- apiGroups: ["kumo.dev"]
  resources: ["apis", "tables"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["apps"]
  resources: ["deployments/scale"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["discovery.k8s.io"]
  resources: ["endpointslices"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["list", "create"]
{{- end -}}

{{/* Operator: reconcile kumo.dev resources (kopf patches them for its progress annotations and
finalizers) into ConfigMaps, Services, Deployments, StatefulSets and PodDisruptionBudgets; and each
Function's access-key Secret (<fn>-credentials): created once, read, labels/owner patched back. No
list/watch/delete on Secrets (garbage collection deletes them with their Function). */}}
{{- define "kumo.operator.rules" -}}
- apiGroups: ["kumo.dev"]
  resources: ["functions", "apis", "tables"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["kumo.dev"]
  resources: ["functions/status", "apis/status", "tables/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: [""]
  resources: ["configmaps", "services"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "create", "patch"]
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: ["apps"]
  resources: ["deployments/scale"]
  verbs: ["get", "patch", "update"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end -}}

{{/* Operator, cluster-wide installs only: kopf observes namespaces and CRDs. */}}
{{- define "kumo.operator.clusterRules" -}}
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["list", "watch"]
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
{{- end -}}

{{/* A Role+RoleBinding (watchNamespace set) or ClusterRole+ClusterRoleBinding for one component.
Call with (dict "ctx" $ "component" "gateway" "rules" <yaml> "serviceAccount" <name>). */}}
{{- define "kumo.rbac" -}}
{{- $ns := .ctx.Values.watchNamespace -}}
{{- $name := printf "%s-%s" (include "kumo.fullname" .ctx) .component | trunc 63 | trimSuffix "-" -}}
{{- $labels := include "kumo.labels" (dict "ctx" .ctx "component" .component) -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ if $ns }}Role{{ else }}ClusterRole{{ end }}
metadata:
  name: {{ $name }}
  {{- if $ns }}
  namespace: {{ $ns }}
  {{- end }}
  labels:
    {{- $labels | nindent 4 }}
rules:
  {{- .rules | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ if $ns }}RoleBinding{{ else }}ClusterRoleBinding{{ end }}
metadata:
  name: {{ $name }}
  {{- if $ns }}
  namespace: {{ $ns }}
  {{- end }}
  labels:
    {{- $labels | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: {{ if $ns }}Role{{ else }}ClusterRole{{ end }}
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: {{ .serviceAccount }}
    namespace: {{ .ctx.Release.Namespace }}
{{- end -}}
