"""The toolbox every format module imports from: each tool lives in the module of its concern, and this
module only gathers them, so a parser has one import line.

- ids and what a file's name says: ingest/formats/_ids.py
- reading files safely, and the guards that make parsers raise only FormatError: _files.py
- CSV, JSON and XML sources: _csvfiles.py, _jsonfiles.py, _xmlfiles.py
- the readable text of a list entry: _entry_text.py
- articles and notices (jurisdiction, title, front matter): _articles.py
- dates, read and written: rag/core/dates.py (the one date grammar of the project)

Every reader raises `FormatError(path, reason)` with a reason that says what is wrong and where (line,
column, byte offset), never a bare UnicodeDecodeError, csv.Error or ParseError.
"""
from __future__ import annotations

from typing import Any

from ingest.formats._articles import guess_title, json_safe, jurisdiction_of
from ingest.formats._csvfiles import column_count_error, iter_csv, iter_csv_dicts, split_multi
from ingest.formats._entry_text import HEAD_ALIASES, clean_space, entry_text, plural, sentence, uniq
from ingest.formats._files import (check_file, decode_error, decode_text, extension_in, guarded, head_is_utf8,
                                   head_text, read_bytes, read_text, safe_sniff, streamed_decode_error)
from ingest.formats._ids import KeyDeduper, date_in_name, file_tag, make_doc_id, slug
from ingest.formats._jsonfiles import iter_jsonl, json_error, json_object_line, load_json
from ingest.formats._xmlfiles import iterparse_xml, local, xml_child, xml_children, xml_text
from rag.core import dates
from rag.core.dates import iso, parse_date


def human_date(value: Any) -> str | None:
    """Dates in a list entry's text, in OFAC's own style ("10 Dec 2021")."""
    return dates.human_date(value, short=True)


__all__ = [
    "HEAD_ALIASES", "KeyDeduper", "check_file", "clean_space", "column_count_error", "date_in_name", "decode_error",
    "decode_text", "entry_text", "extension_in", "file_tag", "guarded", "guess_title", "head_is_utf8", "head_text",
    "human_date", "iso", "iter_csv", "iter_csv_dicts", "iter_jsonl", "iterparse_xml", "json_error",
    "json_object_line", "json_safe", "jurisdiction_of", "load_json", "local", "make_doc_id", "parse_date", "plural",
    "read_bytes", "read_text", "safe_sniff", "sentence", "slug", "split_multi", "streamed_decode_error", "uniq",
    "xml_child", "xml_children", "xml_text",
]
