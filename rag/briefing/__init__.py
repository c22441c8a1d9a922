"""Entity -> sections -> cited, verified briefing; rendered as Markdown, standalone HTML or JSON.

Entity resolution first (the name and its aliases against the list entries in the store), then the
evidence: passages that name the entity, the parties the relations store links it to (rag/relations/links.py: relations
extracted and verified at ingest, so a negated or unstated relation links nothing; exposure paths to listed
parties), and those parties' list entries. Every factual sentence is cited and goes through the same verifier
as answers. One function per section.

Each fact is stated once: statements of the same relation (the same parties, the same kind) become one fact
citing every sentence that states it, the same listing in several versions of a list one fact citing each,
and sentences that say the same thing in other words (close embeddings, the same dates and numbers) are
merged (`Facts`). The Timeline is the chronological index of the dated events about the entity, so it may
restate a dated fact of another section once, with its date first. An entity of which the store says nothing
is "unrated", not "low".

Time: each link carries the date of the source that first states it and, where a later source says it
ended (or the relations store holds it as ended), that end with both citations; the rating counts current
links only, and an as_of briefing reads only what was dated by that day. The rating's reasons come from the
rules that apply to the lists concerned, read from the store's passages (rules.py), and the 50 percent
rule is computed on the store's ownership relations (ownership.py, over rag/relations/ownership.py).

The package: facts.py (the subject, exposure facts, each fact once), build.py (the sections), exposure.py
(links to other parties and their currency), rules.py (each list's effect, rules that do not apply),
ownership.py (the 50 percent rule section), timeline.py (dated events), compare.py (two briefings of one
subject), render.py (Markdown, HTML, JSON, PDF).
"""
from rag.briefing.build import build_briefing
from rag.briefing.compare import compare, render_comparison
from rag.briefing.facts import SECTIONS, UNRATED
from rag.briefing.render import render, render_pdf

__all__ = ["SECTIONS", "UNRATED", "build_briefing", "compare", "render", "render_comparison", "render_pdf"]
