"""The SMART on FHIR app (docs/smart-app.md): pages, configuration and backend at /app/."""
