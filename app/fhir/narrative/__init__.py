"""Report narrative -> findings: a negation- and uncertainty-aware extractor (medspaCy ConText)."""
