"""Authentication: credentials to callers, shared by the REST routes and the hub."""
