"""The HTTP API: FastAPI app, auth, one router per area."""
