"""The readable text of a list entry (key facts first: embedding models see ~256 word pieces), and
the small value helpers that rendering needs."""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any


def uniq(values: Iterable[Any]) -> list[Any]:
    """Non-empty values, first occurrence kept, order preserved."""
    seen: set[Any] = set()
    out = []
    for v in values:
        if v is None or (isinstance(v, str) and not v.strip()):
            continue
        if isinstance(v, str):
            v = v.strip()
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out


def sentence(text: str) -> str:
    text = text.strip()
    if text and text[-1] not in ".!?":
        text += "."
    return text


def clean_space(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


HEAD_ALIASES = 3  # aliases named right after the name; the rest go to a later "Also known as"


def entry_text(
    name: str,
    *,
    aliases: Iterable[str] = (),
    former_names: Iterable[str] = (),
    facts: Iterable[str | None] = (),
    sections: Iterable[tuple[str, Any]] = (),
    more_aliases_at: int = 0,
) -> str:
    """A list entry as readable text, key facts first (embedding models see ~256 word pieces):

    "NAME (a.k.a. A; B; f.k.a. C), fact, fact, fact. Label: value; value. Label: value."
    Aliases beyond the first few become an "Also known as" section at `more_aliases_at`.
    """
    aliases = uniq(a for a in aliases if a != name)
    former = uniq(f for f in former_names if f != name)
    parens = []
    if aliases:
        parens.append("a.k.a. " + "; ".join(aliases[:HEAD_ALIASES]))
    if former:
        parens.append("f.k.a. " + "; ".join(former[:2]))
    head = name + (f" ({'; '.join(parens)})" if parens else "")
    head = ", ".join([head, *[f for f in facts if f]])
    parts = [sentence(head)]
    more_sections = list(sections)
    extra_names = []
    if len(aliases) > HEAD_ALIASES:
        extra_names.append(("Also known as", aliases[HEAD_ALIASES:]))
    if len(former) > 2:
        extra_names.append(("Formerly known as", former[2:]))
    more_sections[more_aliases_at:more_aliases_at] = extra_names
    for label, value in more_sections:
        if isinstance(value, (list, tuple)):
            value = "; ".join(uniq(str(v) for v in value))
        value = clean_space(str(value)) if value else ""
        if value:
            parts.append(sentence(f"{label}: {value}"))
    return " ".join(parts)


def plural(word: str, values: list[Any], plural_word: str | None = None) -> str:
    return word if len(values) == 1 else (plural_word or word + "s")
