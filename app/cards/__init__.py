"""Decision cards (CDS Hooks 2.0) and system actions built from an assessment."""
