"""What every format module shares with the registry (ingest/formats/__init__.py): the error a bad file raises,
and the limits on what is read."""
from __future__ import annotations

from pathlib import Path


class FormatError(Exception):
    """A file could not be read as the format asked for or detected. The message names the file."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


# Files larger than this are refused before reading (a clear error, not a memory blow-up).
MAX_FILE_BYTES = 200 * 1024 * 1024
HEAD_BYTES = 8192
# One document's text (an article, a notice); longer is a mistake or an attack, not something to embed.
MAX_DOCUMENT_CHARS = 2_000_000
