"""Hospital-grade audit trail: one record per hook invocation or assessment.

``entry`` builds the record (input digest, keyed patient hash), ``recorder`` writes it to the
database off the request path, ``spool`` keeps it on local disk while the database is down,
``setup`` holds the helpers the app and the routes call. Submodules are not imported here, so
``app.audit.repo`` (the audit queries) can import ``app.audit.entry`` without a cycle.
"""
