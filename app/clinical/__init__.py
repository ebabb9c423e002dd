"""Pure clinical core: scorers, the ACR variant matcher and order appropriateness.

Plain typed Python: no web framework, no FHIR, no database, no I/O. Knowledge arrives as
validated objects from ``app.knowledge``; inputs are three-valued (True / False / None).
"""
