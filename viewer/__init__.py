"""The read-only viewer: a Starlette app over the data directory, and the static explore frontend."""
