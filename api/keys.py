"""API keys: REGBRIEF_API_KEYS parsed into (key, workspace) pairs, and the bearer scheme /docs shows."""
from __future__ import annotations

import hashlib
import hmac

from fastapi.security import HTTPBearer

from rag.core.settings import DEFAULT_WORKSPACE, check_workspace

# Declares the bearer scheme in the OpenAPI document (so /docs has an "Authorize" button); the check
# itself is done by GuardMiddleware (api/guard.py), before any body is read.
bearer = HTTPBearer(auto_error=False, description="REGBRIEF_API_KEYS: one of the configured keys")


def parse_api_keys(spec: str) -> list[tuple[str, str]]:
    """REGBRIEF_API_KEYS -> [(key, workspace)]: `KEY` is the default workspace, `KEY:NAME` workspace NAME.
    A bad workspace name stops the server at start-up rather than locking a team out later."""
    out = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, name = item.rpartition(":")
        if not sep:
            key, name = item, DEFAULT_WORKSPACE
        try:
            out.append((key.strip(), check_workspace(name.strip())))
        except ValueError as e:
            raise ValueError(f"REGBRIEF_API_KEYS: {e}") from None
    return out


def workspace_of(given: str, keys: list[tuple[str, str]]) -> str | None:
    """The workspace of a presented key, or None. Every key is compared in constant time, so the time
    taken says nothing of which key (if any) was close."""
    found = None
    for key, name in keys:
        if hmac.compare_digest(given.encode(), key.encode()):
            found = name
    return found


def key_id(key: str) -> str:
    """What the rate limiter and logs may know of a key: a short hash, never the key."""
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:12]
