"""CDS Hooks 2.0.1 wire models and response rules (shared/spec/api.md, "CDS Hooks")."""
