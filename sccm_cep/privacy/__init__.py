"""Privacy: field policies and their lint, the anonymizer, scrubbing, the field catalog, approvals."""
