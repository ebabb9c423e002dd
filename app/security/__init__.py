"""Security components: CDS Client authentication (CDS Hooks 2.0.1 § Trusting CDS Clients)."""
