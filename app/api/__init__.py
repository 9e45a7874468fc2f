"""The REST API: FastAPI routers, dependencies and the HTTP face of errors."""
