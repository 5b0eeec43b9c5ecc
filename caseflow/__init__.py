"""caseflow: service cases for CT/MR maintenance, each one a durable Temporal workflow."""
