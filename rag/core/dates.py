"""Dates: one grammar for reading them and one way of writing them.

The same written forms are read from a whole value (a list's cell, a feed's field: `parse_date`) and
from running text (a sentence an answer states, a passage it cites: `find_dates`), so a date the
parsers store and the same date a verifier reads in a sentence are the same date:

  ISO "2021-12-10" (a time may follow in a value), "10 Dec 2021", "2 December 1985", "26 Feb. 2011",
  "December 10, 2021", numeric "12/10/2021" (month first, as OFAC and US sources write it, unless the
  first number cannot be a month, or day first is asked for: UK OFSI), dotted "2.3.2021" (always day
  first, as the EU writes it), and for whole values only the compact "20211210" and PDF
  "D:20211210120000Z" (in running text eight digits are more often an identifier than a date).

Partial dates ("2011", "2011-02", "00/00/1980") are never completed: a day is never invented. Where a
partial or approximate date is what there is (birth dates: "May 1963", "circa 1965", "1970 to 1972"),
`partial_dates` reads what it does say, for comparing (rag/entities/screen.py).
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8,
    "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}
MONTH_WORDS = re.compile(
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?", re.I)
_MON = rf"(?P<mon>{MONTH_WORDS.pattern})"
_ORD = r"(?:st|nd|rd|th)?"

# The written forms (regex bodies), compiled anchored for whole values and word-bounded for text.
_FORMS = {
    "iso": r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})",
    "numeric": r"(?P<a>\d{1,2})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4})",
    "day_month": rf"(?P<d>\d{{1,2}}){_ORD}\s+{_MON}\.?,?\s+(?P<y>\d{{4}})",
    "month_day": rf"{_MON}\.?\s+(?P<d>\d{{1,2}}){_ORD},?\s+(?P<y>\d{{4}})",
}
_VALUE = {kind: re.compile(rf"^{body}" + (r"(?:$|[T ])" if kind == "iso" else "$"), re.I)
          for kind, body in _FORMS.items()}
_TEXT = {kind: re.compile(rf"\b{body}\b", re.I) for kind, body in _FORMS.items()}
_COMPACT = re.compile(r"^(?:D:)?(\d{4})(\d{2})(\d{2})")


def make_date(year: int, month: int | None, day: int) -> dt.date | None:
    """The calendar date, or None when there is no such day (31 February, month 0)."""
    try:
        return dt.date(year, month or 0, day)
    except ValueError:
        return None


def _from_match(kind: str, m: re.Match, dayfirst: bool) -> dt.date | None:
    if kind == "iso":
        return make_date(int(m["y"]), int(m["m"]), int(m["d"]))
    if kind == "numeric":
        a, b = int(m["a"]), int(m["b"])
        first_is_day = dayfirst or m["sep"] == "." or a > 12
        return make_date(int(m["y"]), b, a) if first_is_day else make_date(int(m["y"]), a, b)
    return make_date(int(m["y"]), MONTHS[m["mon"][:3].lower()], int(m["d"]))


def parse_date(value: Any, *, dayfirst: bool = False) -> dt.date | None:
    """A whole value as a full calendar date (see the module docstring for the forms), else None."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    s = str(value).strip()
    if not s:
        return None
    for kind, pattern in _VALUE.items():
        if m := pattern.match(s):
            return _from_match(kind, m, dayfirst)
    if m := _COMPACT.match(s):
        return make_date(int(m[1]), int(m[2]), int(m[3]))
    return None


def find_dates(text: str) -> set[dt.date]:
    """Every full date written in running text."""
    out: set[dt.date] = set()
    for kind, pattern in _TEXT.items():
        for m in pattern.finditer(text):
            if d := _from_match(kind, m, False):
                out.add(d)
    return out


def strip_dates(text: str) -> str:
    """The text with its written dates blanked out (so their numbers are not read again as numbers)."""
    for pattern in _TEXT.values():
        text = pattern.sub(" ", text)
    return text


# --------------------------------------------------------------------------- partial dates

_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")


def partial_dates(value: str) -> list[tuple[int, int | None, int | None]]:
    """(year, month, day) read from a date that may be partial or approximate, as lists write birth dates:
    "1963-05-14", "14 May 1963", "May 1963", "1963", "circa 1965" (1964 to 1966), "1970 to 1972" (each
    year); month and day None when not given."""
    text = value.strip()
    if m := re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", text):
        return [(int(m[1]), int(m[2]) if m[2] else None, int(m[3]) if m[3] else None)]
    years = [int(y) for y in _YEAR.findall(text)]
    if not years:
        return []
    if re.search(r"\b(?:circa|approx|about|ca\.?)\b", text, re.I) and len(years) == 1:
        return [(y, None, None) for y in range(years[0] - 1, years[0] + 2)]
    if len(years) == 2 and re.search(r"\bto\b|-", text) and 0 < years[1] - years[0] <= 10:
        return [(y, None, None) for y in range(years[0], years[1] + 1)]
    if len(years) > 1:
        return [(y, None, None) for y in years]
    mon = re.search(r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\b", text, re.I)
    month = MONTHS[mon[1].lower()] if mon else None  # numeric forms keep only the year: their order differs by list
    day = re.search(r"\b(\d{1,2})\b", _YEAR.sub(" ", text))
    return [(years[0], month, int(day[1]) if day and month and 1 <= int(day[1]) <= 31 else None)]


# --------------------------------------------------------------------------- writing

_MONTH_ABBR = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December"]


def iso(value: Any) -> str | None:
    """"2021-12-10" for a date (or anything parse_date reads), None for nothing."""
    d = parse_date(value)
    return d.isoformat() if d else None


def human_date(value: Any, *, short: bool = False) -> str | None:
    """A date as a person reads it, locale-independent: "10 December 2021" in answers and briefings;
    `short`: "10 Dec 2021" (OFAC's own style, day zero-padded: "03 May 2024") in the rendered text of list
    entries. A value that is not a date comes back as it was; no value gives None."""
    if value is None or value == "":
        return None
    d = parse_date(value) or parse_date(str(value)[:10])
    if d is None:
        return str(value)
    if short:
        return f"{d.day:02d} {_MONTH_ABBR[d.month - 1]} {d.year}"
    return f"{d.day} {_MONTH_NAMES[d.month - 1]} {d.year}"
