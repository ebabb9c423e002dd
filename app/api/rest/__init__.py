"""Plain-JSON REST endpoints under /api/v1 (shared/spec/api.md)."""
