"""Prompt templates as plain files. Each file starts with a `version:` line; the version is recorded
in every answer and briefing so a change of prompt is visible in the audit trail and eval reports."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_DIR = Path(__file__).parent


@lru_cache(maxsize=None)
def load(name: str) -> tuple[str, str]:
    """(template text, version) of prompts/<name>.txt."""
    raw = (_DIR / f"{name}.txt").read_text(encoding="utf-8")
    first, _, body = raw.partition("\n")
    if not first.startswith("version:"):
        raise ValueError(f"prompts/{name}.txt must start with a 'version:' line")
    return body.lstrip("\n"), first.split(":", 1)[1].strip()


def version(name: str) -> str:
    return load(name)[1]
