"""The ways in: HTTP service, web chat page, CLI."""
