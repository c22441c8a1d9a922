"""XML sources, streamed and parsed safely (defusedxml), and small helpers over namespaced elements."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as safe_et

from ingest.formats._errors import FormatError
from ingest.formats._files import check_file


def local(tag: str) -> str:
    """Element tag without its namespace: "{ns}sdnEntry" -> "sdnEntry"."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def iterparse_xml(path: Path, events: tuple[str, ...] = ("start", "end")) -> Iterator[tuple[str, Element]]:
    """Streamed, safe XML parsing (defusedxml): entity declarations (XXE, billion laughs) and
    external references are refused; malformed XML is reported with its line and column."""
    check_file(path)
    try:
        for event, elem in safe_et.iterparse(str(path), events=events, forbid_dtd=False,
                                              forbid_entities=True, forbid_external=True):
            yield event, elem
    except ParseError as e:
        line, col = getattr(e, "position", (None, None))
        msg = str(e).split(":")[0]
        raise FormatError(path, f"malformed XML at line {line}, column {col}: {msg}") from e
    except defusedxml.EntitiesForbidden as e:
        raise FormatError(path, f"XML declares entities ({e}): refused (possible XXE or entity-expansion attack)") from e
    except defusedxml.ExternalReferenceForbidden as e:
        raise FormatError(path, f"XML refers to external resources ({e}): refused") from e
    except defusedxml.DefusedXmlException as e:
        raise FormatError(path, f"unsafe XML refused: {e}") from e


def xml_text(elem: Element | None, name: str) -> str:
    """Stripped text of the first direct child called `name` (any namespace), or ""."""
    if elem is None:
        return ""
    for child in elem:
        if local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def xml_children(elem: Element | None, name: str) -> list[Element]:
    return [c for c in elem if local(c.tag) == name] if elem is not None else []


def xml_child(elem: Element | None, name: str) -> Element | None:
    found = xml_children(elem, name)
    return found[0] if found else None
