"""Relations between parties, each with the sentence that states it: extraction and verification.

Relations come from two places:
- structured data: FollowTheMoney Ownership / Directorship / Family / ... entities (their links are in
  the relation document's metadata) and OFAC "Linked To:" remarks; the citation is the sentence of the
  relation document's text that renders the link;
- sentences of articles, notices and regulations, two ways, the first that speaks for a pair of parties
  winning: a phrase list (PATTERNS: two adjacent names and, between them, a cue that says how they are
  related: "X is a wholly owned subsidiary of Y", "Y owns 100 percent of X", "X uses technology from Z" ...),
  each hit checked again by `verify_relation` (both names in the sentence, the cue between them, no
  negation); then the learned model of rag/relations/learned.py, which classifies every pair of party
  mentions into a relation type and direction (or none) and says whether the sentence states the relation
  as ended ("sold its stake in", "a former subsidiary of", "no longer holds"). `sentence_relations` gives
  both with their status; `extract_sentence` (what briefings use) only those stated as holding.

Each extracted relation carries `date` (the source document's date: when the source states it),
`status` ("stated" or "ended"; an ended relation's `end_date` is its source's date), `method` ("pattern",
"model", "ftm", "ofac-remarks"), `score` (the model's probability), `percentage` and `amount` where the
sentence gives them.

They are stored by the store (rag/store/), with the chunk id and the sentence's offsets in the chunk, so
every edge can be cited. The ingest pipeline extracts them with `extract_relations(docs, chunks)` and
hands them to `Store.write`, which writes them in the same transaction as their documents; removing a
document removes its relations. `Store.sync_relations()` extracts them for documents stored without
(an older store) using `extract_stored`.

Briefings use `extract_sentence` on the passages they cite, so a briefing links parties only where this module
would (rag/briefing.py). The graph over the stored relations is rag/relations/graph.py; the service-facing
`links()` and `exposure()` are rag/relations/links.py.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.core.models import Chunk, Document, ListEntry
from rag.core.settings import get_settings
from rag.entities.names import display_name, mentions, name_pattern
from rag.core.text import sentence_spans


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
    # "stated", or "ended" when the sentence says the relation no longer holds (sold, divested, former ...);
    # an ended relation's end_date is its source's date, the day by which the source says it had ended.
    status: str = "stated"
    score: float | None = None  # the learned model's probability (None for patterns and structured data)
    amount: str | None = None  # an amount the sentence states for the relation ("$ 50 million" invested)


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


def extract_sentence_patterns(sentence: str, aliases: dict[str, str] | None = None) -> list[tuple[str, str, str, str, str, str | None]]:
    """Relations the phrase list finds in a sentence: (relation, subject_text, object_text, subject,
    object, role), each verified. `aliases` maps acronyms defined in the document ("JCV") to the full
    names."""
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


def extract_sentence(sentence: str, aliases: dict[str, str] | None = None) -> list[tuple[str, str, str, str, str, str | None]]:
    """Relations a sentence states as holding: (relation, subject_text, object_text, subject, object, role).
    The phrase list's verified relations first, then those of the learned model (rag/relations/learned.py)
    for pairs the phrase list left alone; relations the sentence says ended are left out (see
    `sentence_relations` for those). `aliases` maps acronyms defined in the document ("JCV") to the full
    names."""
    return [(r.relation, r.subject_text, r.object_text, r.subject, r.object, r.role)
            for r in sentence_relations(sentence, aliases) if r.status == "stated"]


@dataclass
class SentenceRelation:
    relation: str
    subject_text: str
    object_text: str
    subject: str
    object: str
    role: str | None
    method: str  # "pattern" | "model"
    status: str = "stated"
    score: float | None = None
    percentage: str | None = None
    amount: str | None = None


_PCT_RE = re.compile(r"([\d.,]+)\s*(?:percent|per\s+cent|%)", re.I)
_AMOUNT_RE = re.compile(r"((?:US)?\$|€|£|¥|USD\s?|EUR\s?)\s?([\d.,]+)(?:\s*(million|billion|bn|m)\b)?", re.I)


def _model_role(relation: str, between: str) -> str | None:
    if relation == "ownership":
        if re.search(r"stake|interest|shares|shareholder|holding|invest", between, re.I):
            return "stake"
        if re.search(r"subsidiar|\bunit\b|\barm\b|affiliate|division", between, re.I):
            return "subsidiary"
        return "owner"
    if relation == "supplier":
        return "technology" if re.search(r"technolog|algorithm|software|licens", between, re.I) else "supplier"
    if relation == "representative":
        return "agent"
    return None


def sentence_relations(sentence: str, aliases: dict[str, str] | None = None,
                       found: list | None = None, use_model: bool | None = None) -> list[SentenceRelation]:
    """Every relation a sentence states between parties it names, with whether it says the relation ended:
    the phrase list's (method "pattern"), then the learned model's for the other pairs (method "model";
    `found`: the model's finds for this sentence when already computed, see `learned.extract_many`;
    `use_model`: None follows the `relation_model` setting)."""
    from rag.entities.names import name_key
    from rag.relations import learned

    aliases = dict(aliases or {})
    for m in mentions(sentence):
        if m.acronym:
            aliases.setdefault(m.acronym, m.text)
    out: list[SentenceRelation] = []
    pairs: set[frozenset] = set()
    for relation, st, ot, subj, obj, role in extract_sentence_patterns(sentence, aliases):
        out.append(SentenceRelation(relation, st, ot, subj, obj, role, "pattern"))
        pairs.add(frozenset((name_key(st), name_key(ot))))
    if use_model is None:
        use_model = get_settings().relation_model
    finds = (learned.extract(sentence) if found is None else found) if use_model else []
    for f in finds:
        st, ot = f.subject.text, f.object.text
        key = frozenset((name_key(st), name_key(ot)))
        if key in pairs:
            continue
        pairs.add(key)
        lo, hi = sorted((f.subject, f.object), key=lambda p: p.start)
        between = sentence[lo.end:hi.start]
        window = sentence[lo.start:min(len(sentence), hi.end + 40)]
        pct = amount = None
        if f.relation == "ownership":
            if m := _PCT_RE.search(window):
                pct = m.group(1).rstrip(".,")
            if m := _AMOUNT_RE.search(window):
                amount = " ".join(x for x in (m.group(1).strip(), m.group(2).rstrip(".,"), m.group(3)) if x)
        out.append(SentenceRelation(f.relation, st, ot, display_name(aliases.get(st, st)),
                                    display_name(aliases.get(ot, ot)), _model_role(f.relation, between), "model",
                                    f.status, round(f.score, 3), pct, amount))
    return out


def phrase(relation: str, subject: str, object: str, role: str | None = None, percentage: str | None = None,
           status: str = "stated") -> str:
    if status == "ended":
        return f"{phrase(relation, subject, object, role, percentage)} (ended)"
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
    date: str | None = None  # the document's date (ISO), the date of the relations its sentences state


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
    from rag.relations import learned

    aliases = _acronyms("\n\n".join(t for _, t in doc.chunks))
    out: list[Extracted] = []
    seen: set[tuple] = set()
    spans = [(chunk_id, text, a, b) for chunk_id, text in doc.chunks for a, b in sentence_spans(text)
             if len(mentions(text[a:b])) >= 2]
    use_model = get_settings().relation_model
    found = (learned.extract_many([text[a:b] for _, text, a, b in spans]) if use_model  # one embedding call a document
             else [[] for _ in spans])
    for (chunk_id, text, a, b), finds in zip(spans, found):
        s = text[a:b]
        for r in sentence_relations(s, aliases, finds, use_model):
            key = (s, r.relation, r.subject, r.object)
            if key in seen:
                continue  # the same sentence in two overlapping chunks
            seen.add(key)
            pct = r.percentage
            if r.method == "pattern" and r.relation == "ownership" and (m := _PCT_RE.search(s)):
                pct = m.group(1).rstrip(".,")
            out.append(Extracted(r.relation, r.subject, r.object, r.subject_text, r.object_text, chunk_id, a, b,
                                 s, r.method, r.role, pct, doc.date,
                                 doc.date if r.status == "ended" else None,
                                 phrase=phrase(r.relation, r.subject, r.object, r.role, pct, r.status),
                                 status=r.status, score=r.score, amount=r.amount))
    return out


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
                                            by_doc.get(d.doc_id, []), d.date.isoformat() if d.date else None))
            for d in docs}


def extract_stored(row: dict) -> list[Extracted]:
    """The relations of a stored document (a `Registry.relation_sources` row): `Store.sync_relations`."""
    return extract_document(_Doc(row["doc_id"], row["doc_type"], row["title"], _stored_entry(row),
                                 row["content_hash"], row["chunks"], _iso(row.get("date"))))


def _iso(value) -> str | None:
    return str(value)[:10] if value else None


def _stored_entry(row: dict) -> ListEntry | None:
    """The typed entry of a stored list entry (the store's migration gave older stores theirs)."""
    return ListEntry.model_validate(row["entry"]) if row.get("entry") is not None else None


def main(argv: list[str] | None = None) -> int:
    """`python -m rag.relations.extract train`: rebuild the learned model's weights (rag/relations/data)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m rag.relations.extract")
    parser.add_argument("command", choices=["train"])
    parser.parse_args(argv)
    from rag.relations import learned

    m = learned.build()
    print(f"wrote {learned.MODEL_PATH} ({learned.MODEL_PATH.stat().st_size} bytes, {len(m.vocab)} features, "
          f"{len(m.classes)} classes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
