{{/* Chart name, truncated to the 63 characters Kubernetes names allow. */}}
{{- define "kumo.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-qualified name: <release>-kumo, or just <release> when it already contains the chart name. */}}
{{- define "kumo.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kumo.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels for every object; call with (dict "ctx" $ "component" "gateway"). */}}
{{- define "kumo.labels" -}}
helm.sh/chart: {{ include "kumo.chart" .ctx }}
{{ include "kumo.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: kumo
{{- end -}}

{{/* Labels that select one component's pods. */}}
{{- define "kumo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kumo.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The kumo image reference. */}}
{{- define "kumo.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "kumo.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create -}}
{{- default (printf "%s-operator" (include "kumo.fullname" .)) .Values.operator.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.operator.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kumo.gateway.serviceAccountName" -}}
{{- if .Values.gateway.serviceAccount.create -}}
{{- default (printf "%s-gateway" (include "kumo.fullname" .)) .Values.gateway.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.gateway.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* True (non-empty) when the chart runs its own Redis. */}}
{{- define "kumo.redis.enabled" -}}
{{- if not (or .Values.externalRedis.url .Values.externalRedis.existingSecret) -}}true{{- end -}}
{{- end -}}

{{- define "kumo.redis.fullname" -}}
{{- printf "%s-redis" (include "kumo.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kumo.gateway.fullname" -}}
{{- printf "%s-gateway" (include "kumo.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kumo.operator.fullname" -}}
{{- printf "%s-operator" (include "kumo.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The Secret holding the admin token (key "token"; templates/admin-token-secret.yaml). */}}
{{- define "kumo.adminToken.secretName" -}}
{{- printf "%s-admin-token" (include "kumo.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The Secret holding the platform credential (key "credential"; templates/platform-credential-secret.yaml). */}}
{{- define "kumo.platformCredential.secretName" -}}
{{- printf "%s-platform-credential" (include "kumo.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* In-cluster URL of the gateway Service (handed to the operator). */}}
{{- define "kumo.gateway.url" -}}
{{- printf "http://%s.%s.svc:%d" (include "kumo.gateway.fullname" .) .Release.Namespace (int .Values.gateway.service.port) -}}
{{- end -}}

{{/*
KUMO_REDIS_URL for a container: from externalRedis.existingSecret, externalRedis.url, or the
bundled Redis. Containers pass it on as `--redis-url=$(KUMO_REDIS_URL)`.
*/}}
{{- define "kumo.redis.urlEnv" -}}
- name: KUMO_REDIS_URL
{{- if .Values.externalRedis.existingSecret }}
  valueFrom:
    secretKeyRef:
      name: {{ .Values.externalRedis.existingSecret }}
      key: {{ .Values.externalRedis.existingSecretKey }}
{{- else if .Values.externalRedis.url }}
  value: {{ .Values.externalRedis.url | quote }}
{{- else }}
  value: {{ printf "redis://%s.%s.svc:%d/0" (include "kumo.redis.fullname" .) .Release.Namespace (int .Values.redis.port) | quote }}
{{- end }}
{{- end -}}

{{/* Environment shared by the Python containers (operator, gateway). */}}
{{- define "kumo.commonEnv" -}}
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: PYTHONUNBUFFERED
  value: "1"
- name: PYTHONDONTWRITEBYTECODE
  value: "1"
- name: HOME
  value: /tmp
- name: KUMO_PLATFORM_CREDENTIAL
  valueFrom:
    secretKeyRef:
      name: {{ include "kumo.platformCredential.secretName" . }}
      key: credential
{{ include "kumo.redis.urlEnv" . }}
{{- if .Values.codeStore.enabled }}
- name: KUMO_CODE_STORE_URL
  value: {{ include "kumo.codeStore.url" . | quote }}
{{- end }}
{{- end -}}

{{/* The code store (codeStore.enabled): its name and its in-cluster URL (templates/codestore-*.yaml). */}}
{{- define "kumo.codeStore.fullname" -}}
{{- printf "%s-codestore" (include "kumo.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kumo.codeStore.url" -}}
{{- printf "http://%s.%s.svc:%d" (include "kumo.codeStore.fullname" .) .Release.Namespace (int .Values.codeStore.port) -}}
{{- end -}}

{{/* KUMO_RUNTIME_IMAGES for the operator: a JSON object runtime -> image. */}}
{{- define "kumo.runtimeImages" -}}
{{- $out := dict -}}
{{- range $runtime, $img := .Values.runtimeImages.images -}}
{{- $_ := set $out $runtime (printf "%s:%s" $img.repository (default (printf "%s-%s" $.Chart.AppVersion $runtime) $img.tag)) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
