"""CDS Hooks 2.0 "Feedback": validation, idempotent recording and analytics of card outcomes."""
