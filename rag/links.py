"""Relations between parties, each with the sentence that states it, and exposure paths to listed entities.

Relations come from two places:
- structured data: FollowTheMoney Ownership / Directorship / Family / ... entities (their links are in
  the relation document's metadata) and OFAC "Linked To:" remarks; the citation is the sentence of the
  relation document's text that renders the link;
- sentences of articles, notices and regulations, by pattern: two adjacent names and, between them, a
  cue that says how they are related ("X is a wholly owned subsidiary of Y", "Y owns 100 percent of X",
  "X, wholly owned by Y", "Y-owned X", "X uses technology from Z", "X has deployed Z's ... algorithm",
  "Z is a supplier to X", "X is a customer of Y", "X partners with Y", "X is the director of Y" ...).
  Every extracted relation is checked again by `verify_relation`: both names in the sentence, the
  relation's cue between them, and no negation ("not", "no longer", "never", "denied"); a relation the
  sentence does not state is rejected.

They are stored by the store (rag/store/), with the chunk id and the sentence's offsets in the chunk, so
every edge can be cited. The ingest pipeline extracts them with `extract_relations(docs, chunks)` and
hands them to `Store.write`, which writes them in the same transaction as their documents; removing a
document removes its relations. `Store.sync_relations()` extracts them for documents stored without
(an older store) using `extract_stored`.

Exposure: the relations form a graph whose nodes are list entries (names resolved with the screening
matcher, FollowTheMoney ids through their entity documents) or, for unlisted parties, normalised names.
`exposure(rb, "SoftBank", depth=3)` walks from every node the query names to listed entities, each edge
with its relation, date where known and citation, each listed end with its list, program and dates.
"""
from __future__ import annotations

import json
import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rag.models import (
    Chunk,
    Document,
    EntityLinks,
    EntityNode,
    ExposurePath,
    ExposureResponse,
    ListEntry,
    PathEdge,
    Relation,
    RelationCitation,
    ScreenMatch,
)
from rag.names import display_name, mentions, name_key, name_pattern, normalise, resolve_name
from rag.text import sentence_spans


RELATION_TYPES = ("ownership", "supplier", "customer", "partner", "director", "family", "associate", "member",
                  "employee", "representative", "successor", "linked")
# FollowTheMoney relation schema -> (relation, subject property, object property)
FTM_RELATIONS = {
    "Ownership": ("ownership", "owner", "asset"),
    "Directorship": ("director", "director", "organization"),
    "Family": ("family", "person", "relative"),
    "Associate": ("associate", "person", "associate"),
    "Membership": ("member", "member", "organization"),
    "Employment": ("employee", "employee", "employer"),
    "Representation": ("representative", "agent", "client"),
    "Succession": ("successor", "predecessor", "successor"),
    "UnknownLink": ("linked", "subject", "object"),
}
# How a relation reads, subject first (used for path edges and plain phrases).
VERBS = {
    "ownership": "owns", "supplier": "supplies", "customer": "is a customer of", "partner": "is a partner of",
    "director": "is a director or officer of", "family": "is a relative of", "associate": "is an associate of",
    "member": "is a member of", "employee": "is employed by", "representative": "represents",
    "successor": "was succeeded by", "linked": "is linked to",
}


@dataclass
class Extracted:
    relation: str
    subject: str  # canonical name (an acronym replaced by the name it stands for)
    object: str
    subject_text: str  # as written in the sentence
    object_text: str
    chunk_id: str
    start: int
    end: int
    quote: str
    method: str = "pattern"
    role: str | None = None
    percentage: str | None = None
    date: str | None = None
    end_date: str | None = None
    subject_ref: str | None = None
    object_ref: str | None = None
    phrase: str = ""


# --------------------------------------------------------------------------- patterns

_F = r"(?:[\w-]+\s+)"
_OWNED_ADV = r"(?:(?:wholly|majority|fully|partly|partially|indirectly|directly|jointly|ultimately|100\s*(?:percent|%))[\s-]+)"
_PCT = r"(?:[\d.,]+\s*(?:percent|per\s+cent|%))"
_SUPPLY_VERB = (r"(?:uses|used|use|is\s+using|was\s+using|relies\s+on|relied\s+on|rely\s+on|licenses|licensed|"
                r"deploys|deployed|has\s+deployed|had\s+deployed|integrates|integrated|buys|bought|sources|sourced|"
                r"runs\s+on|ran\s+on|is\s+built\s+on|was\s+built\s+on|is\s+powered\s+by|was\s+powered\s+by)")
_THING = r"(?:technology|technologies|algorithms?|software|chips?|systems?|products?|equipment|components?|services?|platform|cameras?|models?)"

# (relation, bridge regex (fullmatch), tail regex (match right after the second name) or None,
#  pre regex (search in the text before the first name, anchored at its end) or None, direction, role)
# direction "ab": the first name is the subject; "ba": the second name is.
PATTERNS: list[tuple[str, re.Pattern, re.Pattern | None, re.Pattern | None, str, str | None]] = []


def _p(relation: str, bridge: str, direction: str, role: str | None = None, tail: str | None = None,
       pre: str | None = None) -> None:
    PATTERNS.append((relation, re.compile(bridge, re.I), re.compile(tail, re.I) if tail else None,
                     re.compile(pre, re.I) if pre else None, direction, role))


# ownership: subject = owner
_p("ownership", rf"\s*,?\s*(?:(?:is|was|has\s+been|became|remains)\s+)?(?:a|an|the)\s+(?:{_OWNED_ADV}?owned\s+|{_F}){{0,4}}?"
   r"(?:subsidiary|unit|affiliate|arm|division|branch|business)\s+of\s+(?:the\s+)?", "ba", "subsidiary")
_p("ownership", rf"\s*,?\s*(?:(?:is|was|are|were|has\s+been|had\s+been)\s+)?{_OWNED_ADV}?(?:owned|controlled|held)\s+"
   r"(?:\w+\s+){0,2}?by\s+(?:the\s+)?", "ba", "owned by")
_p("ownership", rf"\s+(?:owns|owned|controls|controlled|acquired|has\s+acquired|had\s+acquired)\s+"
   rf"(?:or\s+control(?:s|led)\s+)?(?:(?:{_PCT}|all|most|part|(?:a\s+)?majority)\s+of\s+(?:the\s+shares\s+(?:in|of)\s+)?)?(?:the\s+)?",
   "ab", "owns")
_p("ownership", rf"\s+(?:owns|owned|holds|held|has|had|took|acquired|bought)\s+(?:a|an)\s+"
   rf"(?:(?:{_PCT}|majority|minority|controlling|small|large|significant|equity)\s+)*"
   r"(?:stake|interest|shareholding|holding)\s+in\s+(?:the\s+)?", "ab", "stake")
_p("ownership", r"-(?:owned|controlled)\s+(?:the\s+)?", "ab", "owned")
_p("ownership", r"\s*,\s*(?:a|an)\s+", "ba", "group company",
   tail=r"\s+(?:company|unit|subsidiary|affiliate|group\s+company)\b")
_p("ownership", rf"\s+(?:is|was|became|remains|as)\s+(?:the\s+|a\s+|an\s+)?{_F}{{0,2}}?"
   r"(?:shareholder|owner|parent(?:\s+company)?)\s+(?:of|in)\s+(?:the\s+)?", "ab", "shareholder")
_p("ownership", r"\s+(?:is|was|became|remains)\s+", "ab", "shareholder",
   tail=rf"['’]s\s+{_F}{{0,2}}?(?:shareholder|owner|parent(?:\s+company)?)\b")
# supplier: subject = supplier, object = its customer
_p("supplier", rf"\s+{_SUPPLY_VERB}\s+(?:(?:a|an|the|its)\s+)?{_F}{{0,3}}?{_THING}\s+"
   r"(?:from|by|of|sourced\s+from|supplied\s+by|provided\s+by|licensed\s+from|developed\s+by|made\s+by)\s+(?:the\s+)?",
   "ba", "technology")
_p("supplier", rf"\s+{_SUPPLY_VERB}\s+(?:the\s+)?", "ba", "technology",
   tail=rf"(?:['’]s)?\s+{_F}{{0,3}}?{_THING}\b")
_p("supplier", rf"\s+(?:is|was|has\s+been|became)\s+(?:a|an|the)\s+{_F}{{0,3}}?"
   r"(?:supplier|provider|vendor|licensor|manufacturer|contractor)\s+(?:to|of|for)\s+(?:the\s+)?", "ab", "supplier")
_p("supplier", rf"\s+(?:supplies|supplied|provides|provided|sells|sold|licenses|licensed|delivers|delivered)\s+"
   rf"(?:(?:its|the|a|an)\s+)?{_F}{{0,4}}?to\s+(?:the\s+)?", "ab", "supplier")
# customer: subject = the customer, object = the supplier
_p("customer", r"\s+(?:is|was|has\s+been|became|are|were)\s+(?:(?:a|an|the)\s+)?(?:(?:direct|indirect|major|key|large|"
   r"main|big|important)\s+)*(?:customers?|clients?|buyers?)\s+of\s+(?:the\s+)?", "ab", "customer")
# partner
_p("partner", r"\s+(?:partners|partnered|has\s+partnered|is\s+partnering|teamed\s+up|cooperates|collaborates|"
   r"works)\s+with\s+(?:the\s+)?", "ab", "partner")
_p("partner", rf"\s+(?:is|was|has\s+been|became)\s+(?:a|an|the)\s+{_F}{{0,2}}?partner\s+(?:of|to|for)\s+(?:the\s+)?",
   "ab", "partner")
_p("partner", r"\s+and\s+(?:the\s+)?", "ab", "partnership", pre=r"partnership\s+between\s+(?:the\s+)?$")
_p("partner", rf"\s+(?:said\s+it\s+)?(?:\w+\s+){{0,4}}?(?:its|a|the)\s+{_F}{{0,1}}?partnership\s+with\s+(?:the\s+)?",
   "ab", "partnership")
# director / officer: subject = the person
_p("director", r"\s*,?\s*(?:(?:is|was|has\s+been|became|serves\s+as|served\s+as)\s+)?(?:(?:the|a|an)\s+)?"
   r"(?:former\s+|current\s+|acting\s+)?(?:[\w-]+\s+){0,2}?(?:director|chief\s+executive(?:\s+officer)?|ceo|cfo|coo|"
   r"chairman|chairwoman|chair|president|officer|founder|co-founder|general\s+director|managing\s+director|head)\s+"
   r"(?:of|at)\s+(?:the\s+)?", "ab", "director")
_p("director", r"\s+(?:founder|co-founder|chief\s+executive|ceo|chairman|chairwoman|president|director)\s+", "ba",
   "director")

NEGATION = re.compile(r"\b(?:not|no\s+longer|never|neither|nor|no|denied|denies|deny|without|n['’]t|ceased|"
                      r"divested|sold\s+(?:off|its)|former(?:ly)?)\b", re.I)
# The cue each relation type needs between (or right after) the two names, for `verify_relation`.
CUES = {
    "ownership": re.compile(r"subsidiar|\bunit\b|affiliate|\barm\b|division|\bbranch\b|owned|\bowns?\b|controll?|"
                            r"\bstake\b|interest in|shareholder|\bparent\b|acquired|\bheld\b|\bholds?\b|company\b|"
                            r"-owned|business of", re.I),
    "supplier": re.compile(r"technolog|algorithm|software|\bchips?\b|system|product|equipment|component|service|"
                           r"platform|camera|model|supplier|provider|vendor|licens|suppl|provid|\bsells?\b|\bsold\b|"
                           r"deliver|manufacturer|contractor", re.I),
    "customer": re.compile(r"customer|client|buyer", re.I),
    "partner": re.compile(r"partner|cooperat|collaborat|teamed|works with", re.I),
    "director": re.compile(r"director|chief|\bceo\b|\bcfo\b|\bcoo\b|chair|president|officer|founder|\bhead\b", re.I),
}


def verify_relation(sentence: str, relation: str, subject: str, object: str) -> tuple[bool, str]:
    """Does the sentence state this relation? Both names must appear, the relation's cue must stand
    between them (or right after the second, as in "uses SenseTime's algorithm"), with no negation.
    `subject`/`object` are the names as written in the sentence."""
    if relation not in CUES:
        return False, f"unknown relation {relation!r} for a sentence"
    subs = list(name_pattern(subject).finditer(sentence)) if subject.strip() else []
    objs = list(name_pattern(object).finditer(sentence)) if object.strip() else []
    if not subs:
        return False, f"the sentence does not name {subject!r}"
    if not objs:
        return False, f"the sentence does not name {object!r}"
    pairs = [(abs(x.start() - y.start()), x, y) for x in subs for y in objs
             if x.end() <= y.start() or y.end() <= x.start()]
    if not pairs:
        return False, "the two names overlap"
    verdict = (False, "")
    for _, ms, mo in sorted(pairs, key=lambda p: p[0]):  # the closest pair that states it
        ok, why = _check_pair(sentence, relation, ms, mo)
        if ok:
            return True, "stated"
        verdict = verdict if verdict[1] else (False, why.format(subject=subject, object=object))
    return verdict


def _check_pair(sentence: str, relation: str, ms, mo) -> tuple[bool, str]:
    first, second = (ms, mo) if ms.start() < mo.start() else (mo, ms)
    between = sentence[first.end():second.start()]
    tail = sentence[second.end():second.end() + 60]
    before = sentence[max(0, first.start() - 40):first.start()]
    if not (CUES[relation].search(between) or CUES[relation].search(re.split(r"[,;.]", tail)[0])
            or (relation == "partner" and re.search(r"partnership\s+between\s+(?:the\s+)?$", before, re.I))):
        return False, "no " + relation + " cue between {subject!r} and {object!r}"
    if NEGATION.search(between) or re.search(r"\b(?:not|never|no longer)\b", before[-25:], re.I):
        return False, "the sentence negates the relation"
    return True, "stated"


def extract_sentence(sentence: str, aliases: dict[str, str] | None = None) -> list[tuple[str, str, str, str, str, str | None]]:
    """Relations a sentence states: (relation, subject_text, object_text, subject, object, role),
    each verified. `aliases` maps acronyms defined in the document ("JCV") to the full names."""
    aliases = dict(aliases or {})
    ms = mentions(sentence)
    for m in ms:
        if m.acronym:
            aliases.setdefault(m.acronym, m.text)
    out = []
    for a, b in zip(ms, ms[1:]):
        bridge = sentence[a.after:b.start]
        tail = sentence[b.end:b.end + 120]
        pre = sentence[max(0, a.start - 60):a.start]
        for relation, bridge_re, tail_re, pre_re, direction, role in PATTERNS:
            if not bridge_re.fullmatch(bridge):
                continue
            if tail_re and not tail_re.match(tail):
                continue
            if pre_re and not pre_re.search(pre):
                continue
            if re.search(r"\b(?:to|from|with|by|for|of|and|or|in|at|on|than|that|into|about|over)\s+$", pre, re.I) \
                    and not pre_re and not (relation == "director" and direction == "ba") \
                    and not bridge.lstrip().startswith((",", "-")):
                continue  # the first name is an object in its clause ("offers to Mastercard and Visa uses ...")
            subj, obj = (a, b) if direction == "ab" else (b, a)
            ok, _ = verify_relation(sentence, relation, subj.text, obj.text)
            if not ok:
                continue
            out.append((relation, subj.text, obj.text, display_name(aliases.get(subj.text, subj.text)),
                        display_name(aliases.get(obj.text, obj.text)), role))
            break
    return out


def phrase(relation: str, subject: str, object: str, role: str | None = None, percentage: str | None = None) -> str:
    if relation == "ownership" and percentage:
        return f"{subject} owns {percentage}% of {object}"
    if relation == "supplier":
        return f"{subject} supplies {object}" + (" (technology)" if role == "technology" else "")
    if relation == "director" and role and role not in ("director",):
        return f"{subject} is {role}{'' if role.lower().endswith(' of') else ' of'} {object}"
    return f"{subject} {VERBS.get(relation, 'is linked to')} {object}"


# --------------------------------------------------------------------------- extraction per document

@dataclass
class _Doc:
    doc_id: str
    doc_type: str
    title: str
    entry: ListEntry | None  # list entries: their typed entry, whose links are relations
    content_hash: str
    chunks: list[tuple[str, str]] = field(default_factory=list)  # (chunk_id, text)


def _acronyms(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for a, b in sentence_spans(text):
        for m in mentions(text[a:b]):
            if m.acronym:
                found.setdefault(m.acronym, m.text)
    return found


def extract_document(doc: _Doc) -> list[Extracted]:
    if doc.doc_type == "list_entry":
        return _structured(doc)
    aliases = _acronyms("\n\n".join(t for _, t in doc.chunks))
    out: list[Extracted] = []
    seen: set[tuple] = set()
    for chunk_id, text in doc.chunks:
        for a, b in sentence_spans(text):
            s = text[a:b]
            if not _ANY_CUE.search(s):
                continue
            for relation, st, ot, subj, obj, role in extract_sentence(s, aliases):
                key = (s, relation, subj, obj)
                if key in seen:
                    continue  # the same sentence in two overlapping chunks
                seen.add(key)
                pct = None
                if relation == "ownership" and (m := re.search(r"([\d.,]+)\s*(?:percent|per\s+cent|%)", s)):
                    pct = m.group(1).rstrip(".,")
                out.append(Extracted(relation, subj, obj, st, ot, chunk_id, a, b, s, "pattern", role, pct,
                                     phrase=phrase(relation, subj, obj, role, pct)))
    return out


_ANY_CUE = re.compile(r"subsidiar|owned|owns|\bunit\b|affiliate|stake|shareholder|parent|controll|acquired|"
                      r"technolog|algorithm|software|supplier|provider|vendor|licens|suppl|provid|deploy|customer|"
                      r"client|partner|director|chief|ceo|chair|president|officer|founder|company|\bhead\b|\bsold\b|"
                      r"\bsells\b|\bheld\b|\bholds?\b|interest|\barm\b|division|branch|business", re.I)


def _find_span(text: str, *names: str) -> tuple[int, int]:
    """The sentence of `text` naming all `names` (else the first sentence naming one, else the whole)."""
    spans = sentence_spans(text) or [(0, len(text))]
    pats = [name_pattern(n) for n in names if n]
    for a, b in spans:
        if all(p.search(text[a:b]) for p in pats):
            return a, b
    for a, b in spans:
        if any(p.search(text[a:b]) for p in pats):
            return a, b
    return spans[0]


def _structured(doc: _Doc) -> list[Extracted]:
    e = doc.entry
    if e is None or not doc.chunks:
        return []
    chunk_id, text = doc.chunks[0]
    out: list[Extracted] = []
    # A FollowTheMoney relation is cited from its own record (the entities it links list it too).
    for link in e.links if e.record == "relation" else []:
        spec = FTM_RELATIONS.get(link.relation)
        if not spec or not link.subject or not link.object:
            continue
        relation, subj, obj = spec[0], link.subject, link.object
        a, b = _find_span(text, subj, obj)
        out.append(Extracted(relation, subj, obj, subj, obj, chunk_id, a, b, text[a:b], "ftm", link.role,
                             link.percentage, link.start_date, link.end_date,
                             f"ftm:{link.subject_id}", f"ftm:{link.object_id}",
                             phrase=phrase(relation, subj, obj, link.role, link.percentage)))
    # OFAC "Linked To:" remarks: the entry is linked to another (often its owner or controller).
    for link in e.links:
        if link.relation != "Linked To":
            continue
        name, target = e.name, link.object
        a, b = _find_span(text, target)
        out.append(Extracted("linked", name, target, name, target, chunk_id, a, b, text[a:b], "ofac-remarks",
                             "Linked To", subject_ref=f"doc:{doc.doc_id}",
                             phrase=phrase("linked", name, target)))
    return out


# --------------------------------------------------------------------------- for the store

def extract_relations(docs: Sequence[Document], chunks: Sequence[Chunk]) -> dict[str, list[Extracted]]:
    """The relations these documents state, by doc_id; the ingest pipeline passes them to `Store.write`,
    which stores them in the same transaction as the documents."""
    by_doc: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for c in sorted(chunks, key=lambda c: (c.doc_id, c.index)):
        by_doc[c.doc_id].append((c.chunk_id, c.text))
    return {d.doc_id: extract_document(_Doc(d.doc_id, d.doc_type, d.title, d.entry, d.hash(),
                                            by_doc.get(d.doc_id, []))) for d in docs}


def extract_stored(row: dict) -> list[Extracted]:
    """The relations of a stored document (a `Registry.relation_sources` row): `Store.sync_relations`."""
    return extract_document(_Doc(row["doc_id"], row["doc_type"], row["title"], _stored_entry(row),
                                 row["content_hash"], row["chunks"]))


def _stored_entry(row: dict) -> ListEntry | None:
    """The typed entry of a stored list entry (the store's migration gave older stores theirs)."""
    return ListEntry.model_validate(row["entry"]) if row.get("entry") is not None else None


# --------------------------------------------------------------------------- the graph

@dataclass
class Node:
    node_id: str
    name: str
    names: set[str] = field(default_factory=set)
    entry: ListEntry | None = None
    listings: list[ScreenMatch] = field(default_factory=list)

    @property
    def listed(self) -> bool:
        return any(m.listed for m in self.listings)

    def model(self) -> EntityNode:
        aliases = sorted(self.names - {self.name})
        if self.entry is not None:
            aliases = list(dict.fromkeys([n for n in self.entry.all_names() if n != self.name] + aliases))
        return EntityNode(node_id=self.node_id, name=self.name, aliases=aliases, listed=self.listed,
                          listings=[m for m in self.listings if m.listed])


@dataclass
class Edge:
    rel: dict
    source: str
    target: str


class Graph:
    def __init__(self, rows: list[dict], resolve):
        """`resolve(name, ref)` -> (node_id, display name, entry or None, listings)."""
        self.nodes: dict[str, Node] = {}
        self.adj: dict[str, list[Edge]] = defaultdict(list)
        self._words: dict[str, list[set[str]]] | None = None
        self.rows = rows
        for r in rows:
            s = self._node(r["subject"], r["subject_ref"], resolve)
            o = self._node(r["object"], r["object_ref"], resolve)
            if s == o:
                continue
            r["subject_id"], r["object_id"] = s, o
            self.adj[s].append(Edge(r, s, o))
            self.adj[o].append(Edge(r, o, s))

    def _node(self, name: str, ref: str | None, resolve) -> str:
        node_id, display, entry, listings = resolve(name, ref)
        node = self.nodes.get(node_id)
        if node is None:
            node = self.nodes[node_id] = Node(node_id, display, set(), entry, listings)
        node.names.add(name)
        return node_id

    def find(self, query: str, resolved: list[str]) -> list[str]:
        """Nodes the query names: those it resolves to, and those whose names hold all its words."""
        q = normalise(query, False)
        words = set(q.core or q.tokens)
        out = [n for n in resolved if n in self.nodes]
        if not words:
            return out
        if self._words is None:
            self._words = {}
            for nid, node in self.nodes.items():
                names = set(node.names) | ({node.name} | set(node.entry.all_names()) if node.entry is not None else set())
                self._words[nid] = [set(normalise(n, False).tokens) for n in names]
        for nid, sets in self._words.items():
            if nid not in out and any(words <= ws for ws in sets):
                out.append(nid)
        return out


def _citation(r: dict) -> RelationCitation:
    from rag.dates import parse_date

    date = parse_date(r.get("doc_date"))
    return RelationCitation(chunk_id=r["chunk_id"], doc_id=r["doc_id"], title=r.get("doc_title") or "",
                            source=r.get("doc_source") or "", date=date, quote=r["quote"], start=r["start"],
                            end=r["end"], url=r.get("doc_url"))


def relation_model(r: dict) -> Relation:
    return Relation(id=r["id"], relation=r["relation"], subject=r["subject"], object=r["object"],
                    subject_id=r.get("subject_id"), object_id=r.get("object_id"), role=r.get("role"),
                    percentage=r.get("percentage"), date=r.get("date"), end_date=r.get("end_date"),
                    method=r["method"], phrase=r["phrase"], citation=_citation(r))


class Links:
    """Relations and exposure paths over one store (cached until its relations or list entries change)."""

    def __init__(self, rb):
        self.rb = rb
        self._lock = threading.Lock()
        self._graph: tuple[tuple, Graph] | None = None

    def _entity_index(self):
        from rag.screen import entity_index

        return entity_index(self.rb)

    def graph(self) -> Graph:
        store = self.rb.store
        store.sync_relations()
        ei = self._entity_index()
        ei.refresh()
        version = (store.relations_version(), ei.version)
        if self._graph and self._graph[0] == version:
            return self._graph[1]
        with self._lock:
            if self._graph and self._graph[0] == version:
                return self._graph[1]
            graph = Graph(store.relations(), self._resolver(ei))
            self._graph = (version, graph)
            return graph

    def _resolver(self, ei):
        from rag.screen import DEFAULT_THRESHOLD, name_index

        idx = name_index(ei)
        ftm_ids: dict[str, str] = {}
        for e in idx.entries:  # FtM ids ("NK-...") never look like another list's uid ("33114", "4 (a)")
            if e.uid:
                ftm_ids.setdefault(e.uid, e.doc_id)
        by_doc = {e.doc_id: e for e in idx.entries}
        cache: dict[str, tuple] = {}

        def entry_match(e) -> ScreenMatch:
            from rag.screen import Comparison

            c = Comparison(1.0, "identifier", [])
            c.explanation = f"{e.name} is named by its entity id in the source data."
            return idx._match(e, c, e.name, DEFAULT_THRESHOLD)

        def resolve(name: str, ref: str | None):
            doc_id = None
            if ref and ref.startswith("ftm:"):
                doc_id = ftm_ids.get(ref[4:])
            elif ref and ref.startswith("doc:"):
                doc_id = ref[4:] if ref[4:] in by_doc else None
            if doc_id:
                e = by_doc[doc_id]
                same = [m for m in idx.screen_one(e.name, None, DEFAULT_THRESHOLD).matches
                        if m.score >= 0.999 and m.entity_id != doc_id]
                return f"entry:{doc_id}", e.name, e, [entry_match(e)] + same
            key = name_key(name)
            if key not in cache:
                top = resolve_name(idx, name, DEFAULT_THRESHOLD)
                if top:
                    first = top[0]
                    cache[key] = (f"entry:{first.entity_id}", by_doc[first.entity_id].name, by_doc[first.entity_id], top)
                else:
                    cache[key] = (f"name:{key}", display_name(name), None, [])
            return cache[key]

        return resolve

    def _query_nodes(self, graph: Graph, query: str) -> tuple[list[str], list[ScreenMatch]]:
        from rag.screen import DEFAULT_THRESHOLD, name_index

        if query.startswith(("entry:", "name:")):
            return ([query] if query in graph.nodes else []), []
        res = name_index(self._entity_index()).screen_one(query, None, DEFAULT_THRESHOLD)
        own = [m for m in res.matches if m.match]
        resolved = [f"entry:{m.entity_id}" for m in own]
        return graph.find(query, resolved), own

    # --- the operations ---------------------------------------------------------------------------
    def links(self, query: str) -> EntityLinks:
        graph = self.graph()
        nodes, own = self._query_nodes(graph, query)
        entities = [graph.nodes[n].model() for n in nodes]
        if not entities and own:
            entities = [EntityNode(node_id=f"entry:{m.entity_id}", name=m.name, listed=m.listed, listings=[m])
                        for m in own]
        seen: set[int] = set()
        relations = []
        for n in nodes:
            for e in graph.adj.get(n, []):
                if e.rel["id"] not in seen:
                    seen.add(e.rel["id"])
                    relations.append(relation_model(e.rel))
        return EntityLinks(query=query, entities=entities, relations=relations)

    def exposure(self, query: str, depth: int = 3, max_paths: int = 50,
                 relations: Sequence[str] | None = None) -> ExposureResponse:
        graph = self.graph()
        start, own = self._query_nodes(graph, query)
        resp = ExposureResponse(query=query, depth=depth, start=[graph.nodes[n].model() for n in start],
                                listed_start=[m for m in own if m.listed])
        if not start:
            resp.notes.append(f"No party named {query!r} appears in the relations extracted from the store.")
            return resp
        start_set = set(start)
        allowed = set(relations) if relations else None
        paths: list[list[tuple[str, list[Edge]]]] = []
        frontier: list[tuple[list[str], list[list[Edge]]]] = [([s], []) for s in start]
        budget = 20000
        for _ in range(max(1, depth)):
            nxt = []
            for nodes, hops in frontier:
                here = nodes[-1]
                by_next: dict[str, list[Edge]] = defaultdict(list)
                for e in graph.adj.get(here, []):
                    if e.target in nodes or e.target in start_set:
                        continue
                    if allowed and e.rel["relation"] not in allowed:
                        continue
                    by_next[e.target].append(e)
                for target, edges in by_next.items():
                    budget -= 1
                    if budget < 0:
                        break
                    p_nodes, p_hops = nodes + [target], hops + [edges]
                    if graph.nodes[target].listed:
                        paths.append((p_nodes, p_hops))
                    else:
                        nxt.append((p_nodes, p_hops))
            frontier = nxt
            if not frontier or len(paths) >= max_paths or budget < 0:
                break
        for p_nodes, p_hops in paths[:max_paths]:
            edges = [self._edge(graph, p_nodes[i], p_nodes[i + 1], hop) for i, hop in enumerate(p_hops)]
            end = graph.nodes[p_nodes[-1]]
            resp.paths.append(ExposurePath(nodes=[graph.nodes[n].model() for n in p_nodes], edges=edges,
                                           end=[m for m in end.listings if m.listed][0]))
        if budget < 0:
            resp.notes.append("The search stopped early: the graph around this entity is large.")
        if not resp.paths:
            resp.notes.append(f"No path of at most {depth} cited relations links {query!r} to a listed entity "
                              "in the store.")
        return resp

    def _edge(self, graph: Graph, a: str, b: str, hop: list[Edge]) -> PathEdge:
        # The best-attested relation between the two: structured data first, then the most stated.
        by_rel: dict[tuple[str, str], list[Edge]] = defaultdict(list)
        for e in hop:
            direction = "forward" if e.rel["subject_id"] == a else "backward"
            by_rel[(e.rel["relation"], direction)].append(e)
        (relation, direction), edges = max(by_rel.items(), key=lambda kv: (
            any(e.rel["method"] != "pattern" for e in kv[1]), len(kv[1]), kv[0][0] == "ownership"))
        edges.sort(key=lambda e: (e.rel["method"] == "pattern", e.rel.get("doc_date") or "", e.rel["id"]))
        first = edges[0].rel
        dates = sorted(e.rel["date"] for e in edges if e.rel.get("date"))
        ends = [e.rel.get("end_date") for e in edges]
        end_date = max(ends) if ends and all(ends) else None  # ended only when every statement of it ended
        return PathEdge(source=a, target=b, relation=relation, direction=direction, phrase=first["phrase"],
                        date=dates[0] if dates else None, end_date=end_date, citation=_citation(first),
                        more_citations=[_citation(e.rel) for e in edges[1:6]])


_links: dict[int, Links] = {}
_links_lock = threading.Lock()


def links_for(rb) -> Links:
    with _links_lock:
        key = id(rb.store)
        if key not in _links or _links[key].rb.store is not rb.store:
            _links[key] = Links(rb)
        return _links[key]


def links(rb, query: str) -> EntityLinks:
    """The entity a query names: its names, listings and cited relations."""
    return links_for(rb).links(query)


def exposure(rb, query: str, depth: int = 3, max_paths: int = 50, relations: Sequence[str] | None = None) -> ExposureResponse:
    """Paths of cited relations from the entity a query names to listed entities."""
    return links_for(rb).exposure(query, depth=depth, max_paths=max_paths, relations=relations)
