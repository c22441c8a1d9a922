"""What articles and notices need beyond the text: jurisdiction names, a title, JSON-safe front matter."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any


_JURISDICTION_NAMES = {
    "US": "US", "USA": "US", "UNITED STATES": "US", "U.S.": "US",
    "EU": "EU", "EUROPEAN UNION": "EU",
    "UK": "UK", "GB": "UK", "UNITED KINGDOM": "UK", "GREAT BRITAIN": "UK",
    "UN": "UN", "UNITED NATIONS": "UN",
}


def jurisdiction_of(value: Any) -> str | None:
    """"United States" / "us" / "GB" -> "US" / "US" / "UK"; None when not one of US, EU, UK, UN."""
    if not isinstance(value, str):
        return None
    return _JURISDICTION_NAMES.get(value.strip().upper())


def guess_title(text: str, path: Path) -> str:
    """The first Markdown heading, else the first non-empty line (shortened), else the file name."""
    lines = [ln.strip() for ln in text.splitlines()]
    for i, ln in enumerate(lines):
        if m := re.match(r"^#{1,6}\s+(.+?)\s*#*$", ln):
            return m[1].strip()
        if ln and i + 1 < len(lines) and re.fullmatch(r"=+|-+", lines[i + 1] or " ") and len(lines[i + 1]) >= 3:
            return ln
    for ln in lines:
        ln = re.sub(r"^[>*\-+#\s]+", "", ln).strip()
        if ln:
            return ln if len(ln) <= 150 else ln[:147].rsplit(" ", 1)[0] + "..."
    return path.stem.replace("_", " ").replace("-", " ").strip() or path.name


def json_safe(value: Any) -> Any:
    """Front-matter values as JSON: dates to ISO strings, nested containers converted, others str()."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
