"""HTTP layer: REST and CDS Hooks routers, dependencies and error handling."""
