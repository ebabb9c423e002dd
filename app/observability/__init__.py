"""Observability: structured logs with request ids, Prometheus metrics, CORS settings."""
