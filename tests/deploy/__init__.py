"""Deployment checks: Dockerfile, plain manifests, Helm chart and the Kubernetes Job builder."""
