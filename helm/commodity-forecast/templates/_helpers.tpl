{{/*
Names and labels shared by all templates, and the pod spec both workloads run.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "commodity-forecast.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The resource name prefix: fullnameOverride, else the release name (plus the chart name when
the release name does not contain it). Cut to 45 characters so that "<prefix>-daily" stays
within the CronJob name limit of 52.
*/}}
{{- define "commodity-forecast.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 45 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 45 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 45 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "commodity-forecast.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels that identify the release's objects (also on pod templates). */}}
{{- define "commodity-forecast.selectorLabels" -}}
app.kubernetes.io/name: {{ include "commodity-forecast.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: {{ include "commodity-forecast.name" . }}
{{- end }}

{{/* Labels of every top-level object. */}}
{{- define "commodity-forecast.labels" -}}
helm.sh/chart: {{ include "commodity-forecast.chart" . }}
{{ include "commodity-forecast.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The ServiceAccount the job pods run as. */}}
{{- define "commodity-forecast.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "commodity-forecast.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The job image reference. */}}
{{- define "commodity-forecast.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The in-chart MLflow server's name and URL. */}}
{{- define "commodity-forecast.mlflowName" -}}
{{- printf "%s-mlflow" (include "commodity-forecast.fullname" .) }}
{{- end }}
{{- define "commodity-forecast.mlflowUrl" -}}
{{- printf "http://%s.%s.svc.cluster.local:%d" (include "commodity-forecast.mlflowName" .) .Release.Namespace (int .Values.mlflow.port) }}
{{- end }}

{{/* The in-chart Spark Connect server's name and its sc:// address for the job pods. */}}
{{- define "commodity-forecast.sparkConnectName" -}}
{{- printf "%s-spark-connect" (include "commodity-forecast.fullname" .) }}
{{- end }}
{{- define "commodity-forecast.sparkConnectUrl" -}}
{{- printf "sc://%s.%s.svc.cluster.local:%d" (include "commodity-forecast.sparkConnectName" .) .Release.Namespace (int .Values.sparkConnect.port) }}
{{- end }}

{{/* The model names as the CLI takes them: one comma-separated string. */}}
{{- define "commodity-forecast.models" -}}
{{- join "," .Values.forecast.models }}
{{- end }}

{{/* The job options common to `forecast daily` and `forecast backfill`, as args. */}}
{{- define "commodity-forecast.jobOptionArgs" -}}
- "--commodity"
- {{ .Values.forecast.commodity | quote }}
- "--models"
- {{ include "commodity-forecast.models" . | quote }}
- "--train-frequency"
- {{ .Values.forecast.trainFrequency | quote }}
- "--model-version"
- {{ .Values.forecast.modelVersion | quote }}
{{- end }}

{{/*
The pod spec of a job pod. Call with a dict:
  root: the chart context; component: daily or backfill;
  args: the container args (a list); env: extra env entries (a list of {name, value}).
*/}}
{{- define "commodity-forecast.podTemplate" -}}
{{- $root := .root -}}
metadata:
  labels:
    {{- include "commodity-forecast.selectorLabels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  serviceAccountName: {{ include "commodity-forecast.serviceAccountName" $root }}
  automountServiceAccountToken: false
  restartPolicy: Never
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  {{- with $root.Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $root.Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $root.Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: forecast
      image: {{ include "commodity-forecast.image" $root | quote }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      args:
        {{- toYaml .args | nindent 8 }}
      envFrom:
        - configMapRef:
            name: {{ include "commodity-forecast.fullname" $root }}
        {{- with $root.Values.credentials.secretName }}
        - secretRef:
            name: {{ . }}
            optional: {{ $root.Values.credentials.optional }}
        {{- end }}
      env:
        {{- with .env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        - name: HOME
          value: /scratch
        - name: TMPDIR
          value: /scratch
        - name: SPARK_LOCAL_DIRS
          value: /scratch/spark
        - name: FORECAST_HOME
          value: /scratch/forecast
      resources:
        {{- toYaml $root.Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml $root.Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: scratch
          mountPath: /scratch
        {{- if $root.Values.dataVolume.enabled }}
        - name: data
          mountPath: {{ $root.Values.dataVolume.mountPath }}
          readOnly: {{ $root.Values.dataVolume.readOnly }}
        {{- end }}
  volumes:
    - name: scratch
      emptyDir:
        sizeLimit: {{ $root.Values.scratch.sizeLimit }}
    {{- if $root.Values.dataVolume.enabled }}
    - name: data
      persistentVolumeClaim:
        claimName: {{ include "commodity-forecast.dataClaimName" $root }}
        readOnly: {{ $root.Values.dataVolume.readOnly }}
    {{- end }}
{{- end }}

{{/* The PersistentVolumeClaim of the data volume: the existing one, or the chart's. */}}
{{- define "commodity-forecast.dataClaimName" -}}
{{- default (printf "%s-data" (include "commodity-forecast.fullname" .)) .Values.dataVolume.existingClaim }}
{{- end }}

{{/*
The pod failure policy of both workloads: exit code 2 (bad usage or configuration) fails
at once with `action` (FailJob or FailIndex); disruptions (drains, preemption) are ignored.
*/}}
{{- define "commodity-forecast.podFailurePolicy" -}}
podFailurePolicy:
  rules:
    - action: {{ . }}
      onExitCodes:
        containerName: forecast
        operator: In
        values: [2]
    - action: Ignore
      onPodConditions:
        - type: DisruptionTarget
          status: "True"
podReplacementPolicy: Failed
{{- end }}
