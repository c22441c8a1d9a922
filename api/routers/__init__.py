"""One router module per resource (as in opensanctions/yente)."""
