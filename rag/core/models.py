"""The types that cross module lines, defined once.

Document: what a parser yields (one article, one list entry, one notice, one regulatory passage).
Chunk: a citable span of a document's text, as stored in every index.
SearchResult / Citation / Sentence / Answer / Briefing: what retrieval and answering return; their
field names are the public contract of the CLI's --json output and the HTTP API (see DESIGN.md).
"""
# Over 400 lines by design: the types that cross module lines are defined once, here (DESIGN.md).
from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, List, Literal

from pydantic import BaseModel, Field, model_validator

DocType = Literal["list_entry", "notice", "article", "regulation"]
Jurisdiction = Literal["US", "EU", "UK", "UN"]
Verdict = Literal["supported", "unsupported", "removed"]


def content_hash(*parts: str) -> str:
    """A short, stable hash of text; used for document identity and change detection."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:16]


# --- list entries: what every list parser writes, the store keeps, and readers read -------------------
NameKind = Literal["primary", "aka", "fka", "nka", "weak"]
EntityType = Literal["person", "company", "organisation", "vessel", "aircraft", "other"]
RecordKind = Literal["entity", "sanction", "relation"]
_TYPE_WORDS: dict[str, EntityType] = {
    "individual": "person", "person": "person", "company": "company", "entity": "organisation",
    "organization": "organisation", "organisation": "organisation", "legalentity": "organisation",
    "publicbody": "organisation", "vessel": "vessel", "ship": "vessel", "aircraft": "aircraft",
    "airplane": "aircraft",
}


def entity_type_of(label: str | None) -> EntityType:
    """The entity type a list's own word names: OFAC "individual"/"entity", UK "Ship", FtM "LegalEntity"."""
    return _TYPE_WORDS.get("".join((label or "").lower().split()), "other")


class EntryName(BaseModel):
    name: str
    kind: NameKind = "primary"  # a.k.a., f.k.a., n.k.a.; "weak": a low-quality alias (EU), never matched


class Identifier(BaseModel):
    type: str = ""  # as the list writes it: "Registration ID", "passport", "IMO", "innCode"
    number: str
    country: str | None = None

    def __str__(self) -> str:
        return f"{self.type}: {self.number}".lstrip(": ") + (f" ({self.country})" if self.country else "")


class EntryLink(BaseModel):
    """A link to another party: OFAC's "Linked To:", or a FollowTheMoney relation (subject first:
    Ownership owner -> asset, Directorship director -> organization, ...)."""

    relation: str  # "Linked To", or the FtM schema: Ownership, Directorship, Family, UnknownLink ...
    subject: str  # names as the source writes them
    object: str
    subject_id: str | None = None  # the party's id in the same source (FtM id); None: this entry
    object_id: str | None = None
    id: str | None = None  # the relation record's own id (FtM)
    role: str | None = None
    percentage: str | None = None
    shares: str | None = None
    start_date: str | None = None  # as written: partial dates ("2019") stay partial
    end_date: str | None = None


class ListEntry(BaseModel):
    """One entry of a sanctions list, typed (see rag/core/legacy_entry.py for stores of the previous release).

    `record` says what the entry is: a listed (or known) entity, or, from FollowTheMoney data, a Sanction
    or relation record, which are stored as list entries but are not entities to screen. Dates of the
    listing are full dates; birth dates stay as written ("1970", "circa 1965").
    """

    uid: str | None = None  # the list's own id: OFAC uid/ent_num, EU record id, UK Group ID, FtM id
    record: RecordKind = "entity"
    names: List[EntryName]  # the primary name first
    entity_type: EntityType = "other"
    source_type: str | None = None  # the type as the list writes it ("individual", "LegalEntity")
    list: str | None = None  # "SDN", "NS-CMIC", an EU program, "UK OFSI consolidated", "OpenSanctions"
    lists: List[str] = []  # pydantic copies defaults
    issuer: str | None = None  # who publishes the list: "OFAC", "EU Official Journal", "UK OFSI"
    authorities: List[str] = []  # the sanctioning authorities, where the source compiles several (FtM)
    jurisdiction: Jurisdiction | None = None
    programs: List[str] = []
    measures: List[str] = []  # what the listing imposes, where the list says: EU "Asset freeze", "Travel ban"
    sanctioned: bool = True  # False for known but unsanctioned entities (FtM companies)
    listing_date: dt.date | None = None  # the earliest, where the list gives several
    effective_date: dt.date | None = None
    divestment_date: dt.date | None = None
    end_date: dt.date | None = None
    list_published: dt.date | None = None
    last_updated: dt.date | None = None
    birth_dates: List[str] = []
    birth_places: List[str] = []
    nationalities: List[str] = []
    citizenships: List[str] = []
    countries: List[str] = []
    positions: List[str] = []
    gender: str | None = None
    identifiers: List[Identifier] = []
    addresses: List[str] = []
    remarks: str | None = None  # OFAC remarks, EU reasons, UK other information
    links: List[EntryLink] = []
    change: Literal["added", "removed", "modified"] | None = None  # what a change-log notice says happened
    # Where the store keeps the entry: set when read back (rag/entities/index.py), never stored with it.
    doc_id: str = Field("", exclude=True)
    source: str = Field("", exclude=True)

    @property
    def name(self) -> str:
        return self.names[0].name if self.names else ""

    def all_names(self, kinds: tuple[str, ...] = ("primary", "aka", "fka", "nka")) -> List[str]:
        """Its names of these kinds, primary first, each once (weak aliases are left out by default)."""
        return [n for n in dict.fromkeys(x.name for x in self.names if x.kind in kinds and x.name)]

    def names_of(self, kind: NameKind) -> List[str]:
        return [x.name for x in self.names if x.kind == kind]

    @property
    def date(self) -> dt.date | None:
        """The date the entry speaks from: its listing, else its list's publication."""
        return self.listing_date or self.list_published

    @property
    def authority(self) -> str | None:
        return ", ".join(self.authorities) or self.issuer


class Document(BaseModel):
    """One normalised source document.

    `doc_id` is stable across re-ingests of the same source (e.g. "ofac-sdn:33114" or a hash of the
    article's path), so a changed file replaces its own documents rather than adding new ones.
    `pages` is set for paginated sources (PDF): (page number, start offset in `text`) pairs.
    """

    doc_id: str
    title: str
    text: str
    doc_type: DocType
    format: str
    source: str  # file path or URL the user can open
    date: dt.date | None = None  # published date, or listing date for list entries
    jurisdiction: Jurisdiction | None = None
    publisher: str | None = None  # publisher for articles, authority for notices and lists
    url: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    pages: list[tuple[int, int]] | None = None
    # One list entry is one chunk: a parser sets this so the chunker never splits structured data.
    single_chunk: bool = False
    # The typed list entry (list parsers); for a change-log notice, the entry it names.
    entry: ListEntry | None = None

    def hash(self) -> str:
        parts = [
            self.title,
            self.text,
            self.doc_type,
            str(self.date or ""),
            self.jurisdiction or "",
            self.publisher or "",
            self.url or "",
            json.dumps(self.metadata, sort_keys=True, default=str),
        ]
        if self.entry is not None:  # documents without an entry keep the hash they always had
            parts.append(self.entry.model_dump_json(exclude_defaults=True))
        return content_hash(*parts)


class Chunk(BaseModel):
    chunk_id: str
    doc_id: str
    index: int
    text: str
    start: int  # character offsets of this chunk within the document text
    end: int
    page: int | None = None


class SearchResult(BaseModel):
    chunk_id: str
    doc_id: str
    text: str
    score: float
    title: str
    source: str
    date: dt.date | None = None
    doc_type: DocType
    jurisdiction: str | None = None
    publisher: str | None = None
    url: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    # which retrievers found it, and at what rank (1-based): {"dense": 3, "keyword": 1}
    ranks: dict[str, int] = Field(default_factory=dict)


class SearchResponse(BaseModel):
    query: str
    results: list[SearchResult]


class Filters(BaseModel):
    """Metadata filters, applied on both the dense and the keyword side."""

    doc_type: list[DocType] | None = None
    source: str | None = None  # substring of the source path or URL
    jurisdiction: list[Jurisdiction] | None = None
    since: dt.date | None = None
    until: dt.date | None = None  # inclusive; --as-of sets this

    @model_validator(mode="after")
    def _range(self) -> "Filters":
        """An inverted date range is an error that names both fields (a 422 through the API)."""
        if self.since and self.until and self.since > self.until:
            raise ValueError(f"since ({self.since.isoformat()}) is after until ({self.until.isoformat()}): "
                             f"the date range is inverted")
        return self

    def is_empty(self) -> bool:
        return not any([self.doc_type, self.source, self.jurisdiction, self.since, self.until])


class Citation(BaseModel):
    n: int
    chunk_id: str
    doc_id: str
    title: str
    source: str
    date: dt.date | None = None
    quote: str  # the exact span of the chunk text that supports the sentence(s) citing it
    start: int  # offsets of `quote` within the chunk text
    end: int
    publisher: str | None = None
    url: str | None = None
    page: int | None = None
    doc_type: DocType | None = None
    chunk_text: str = ""  # the whole passage, so a reader can see the quote in its context
    metadata: dict[str, Any] = Field(default_factory=dict)  # uid, programs, DocumentID, PassageID ...


class Sentence(BaseModel):
    text: str
    citations: list[int] = Field(default_factory=list)
    support: float = 0.0
    verdict: Verdict = "supported"
    # "fact" sentences must be cited and verified; "note" sentences (refusals, statements about what
    # the store does not hold, open questions) carry no facts from the sources and are not verified.
    kind: Literal["fact", "note"] = "fact"
    reason: str | None = None  # why the verifier rejected it
    # Timeline entries: the event's date, and where it comes from ("text": written in the sentence,
    # "listing": the list entry's listing date, "reported": the date of the document that reports it).
    date: dt.date | None = None
    dated_by: Literal["text", "listing", "reported"] | None = None


class Answer(BaseModel):
    id: str
    question: str
    standalone_question: str | None = None  # the follow-up rewritten with the conversation's context
    answer: str  # the text shown to the user, with [n] markers
    refused: bool = False
    citations: list[Citation] = Field(default_factory=list)
    sentences: list[Sentence] = Field(default_factory=list)
    closest: list[SearchResult] = Field(default_factory=list)  # shown when refusing
    backend: str
    model: str | None = None
    prompt_version: str
    notes: list[str] = Field(default_factory=list)  # e.g. "LLM unavailable: fell back to extractive"
    filters: Filters = Field(default_factory=Filters)
    conversation_id: str | None = None
    created_at: dt.datetime
    # What the question was read as (rag/answering/plan.py): the entities it names, what it asks about each, the
    # time and the kind of answer expected. Additive; kept in the audit trail with the answer.
    plan: dict[str, Any] | None = None


class BriefingSection(BaseModel):
    title: str
    sentences: list[Sentence] = Field(default_factory=list)


class BriefingExposure(BaseModel):
    """One exposure fact of a briefing: a cited relation between the entity and another party."""

    party: str  # the other party (its list entry's name when it resolves to one)
    party_id: str  # its graph node id (rag/relations/links.py)
    relation: str  # ownership | supplier | customer | partner | director | ...
    strength: str  # what `entity` is to `party`: shareholder, owner, subsidiary, investee, supplier, customer ...
    entity: str  # which legal entity of the briefing's subject the relation is about ("SoftBank Group Corp.")
    percentage: str | None = None
    listed: bool = False
    lists: list[str] = Field(default_factory=list)
    via: str | None = None  # the party in between, for a second hop
    sentence: str = ""  # the fact sentence of the "Links to other parties" section
    citations: list[int] = Field(default_factory=list)
    # Time: when the sources first stated it (the date of the earliest source), and whether a later source
    # says it ended ("ended", with that source's date and citations), "current" (stated, no later source
    # says it ended), or "unknown" (no source of it is dated).
    status: Literal["current", "ended", "unknown"] = "current"
    stated_on: dt.date | None = None
    ended_on: dt.date | None = None
    ended_sentence: str = ""
    ended_citations: list[int] = Field(default_factory=list)


class BriefingRule(BaseModel):
    """A list the entity or a linked party is on, its legal effect as the store's passages state it, and
    the rules those passages say do not apply to it; every statement cited."""

    list: str
    parties: list[str] = Field(default_factory=list)  # who is on it (the entity, or a linked party)
    effect: str = ""  # the sentence that states the list's legal effect
    effect_kind: Literal["blocking", "securities", "export", "other"] = "other"
    citations: list[int] = Field(default_factory=list)
    not_applicable: list[str] = Field(default_factory=list)  # sentences that say a rule does not apply to it
    not_applicable_citations: list[int] = Field(default_factory=list)


class BriefingChange(BaseModel):
    kind: Literal["added", "ended", "changed", "removed"]
    what: str  # "relation", "listing", "rating", "ownership"
    text: str
    before: str | None = None
    after: str | None = None


class BriefingComparison(BaseModel):
    """What changed between two briefings of one subject: relations and listings added, ended (a source
    says so) or no longer stated, and the rating."""

    entity: str
    old_id: str
    new_id: str
    old_created_at: dt.datetime
    new_created_at: dt.datetime
    changes: list[BriefingChange] = Field(default_factory=list)


class Briefing(BaseModel):
    id: str
    entity: str
    resolved: list[str] = Field(default_factory=list)  # list entry names the entity resolved to
    as_of: dt.date | None = None
    rating: Literal["low", "medium", "high", "unrated"]  # unrated: nothing in the store about the entity
    exposure: list[BriefingExposure] = Field(default_factory=list)
    lists_checked: list[dict] = Field(default_factory=list)  # {"list", "published", "authority", "entries"}
    rules: list[BriefingRule] = Field(default_factory=list)  # the rules that apply to the lists concerned
    ownership: list[OwnershipFinding] = Field(default_factory=list)  # the 50 percent rule, computed
    sections: list[BriefingSection]
    citations: list[Citation] = Field(default_factory=list)
    backend: str = "extractive"
    model: str | None = None
    prompt_version: str = ""
    notes: list[str] = Field(default_factory=list)  # e.g. "the LLM failed; extractive summary used"
    created_at: dt.datetime


# --- screening, relations and exposure paths (rag/entities/screen.py, rag/relations/links.py) -------------------------
# (ScreenMatch has a field called "list", so its other list fields are typed with typing.List.)


class ScreenMatch(BaseModel):
    """One list entry a screened name may refer to."""

    entity_id: str  # the list entry's doc_id in the store
    name: str  # the entry's primary name
    score: float  # in [0, 1]
    match: bool  # score >= the threshold used
    list: str | None = None
    programs: List[str] = []  # pydantic copies defaults
    listed_on: str | None = None  # ISO date of the listing, when the list gives one
    explanation: str = ""
    matched_name: str = ""  # which of the entry's names (primary, alias, former name) matched
    normalisations: List[str] = []  # pydantic copies defaults  # e.g. ["case", "legal form", "word order"]
    entity_type: str | None = None
    listed: bool = True  # False for known, unsanctioned entities (e.g. FollowTheMoney companies)
    lists: List[str] = []  # pydantic copies defaults
    authority: str | None = None
    effective_date: str | None = None
    divestment_date: str | None = None
    countries: List[str] = []  # pydantic copies defaults
    identifiers: List[str] = []  # pydantic copies defaults
    source: str | None = None
    sources: List[str] = []  # every source the entry came from (a feed and a file, two versions of a list)
    birth_dates: List[str] = []  # pydantic copies defaults  # as the list writes them
    # What besides the name weighed in the score: "identifier match", "birth date match",
    # "birth year mismatch", "country mismatch" ... (a mismatch lowers the name's score)
    features: List[str] = []  # pydantic copies defaults


class ScreenQuery(BaseModel):
    """One thing to screen: a name, and what else the analyst knows about the party (all optional)."""

    name: str = Field(..., min_length=1, max_length=500)
    schema_: str | None = Field(None, alias="schema", description="person, company, organization, vessel, aircraft")
    birth_date: str | None = Field(None, max_length=40, description="YYYY-MM-DD, YYYY-MM or YYYY")
    country: str | None = Field(None, max_length=80, description="a country name or ISO code (CN, China)")
    identifiers: List[str] = Field(default_factory=list, max_length=20,
                                   description="registration numbers, passports, IMO numbers ...")

    model_config = {"populate_by_name": True}


class ScreenResult(BaseModel):
    query: str
    matches: list[ScreenMatch] = Field(default_factory=list)


class ScreenResponse(BaseModel):
    results: list[ScreenResult]
    threshold: float = 0.0
    type: str | None = None
    entries: int = 0  # how many list entries were screened against
    lists: list[dict] = Field(default_factory=list)  # the lists screened: {"list", "published", "authority", "entries"}


class RelationCitation(BaseModel):
    chunk_id: str
    doc_id: str
    title: str = ""
    source: str = ""
    date: dt.date | None = None  # the document's date (when the source said it)
    quote: str  # the exact sentence that states the relation
    start: int  # offsets of `quote` within the chunk text
    end: int
    url: str | None = None


class OwnershipContribution(BaseModel):
    """One blocked owner's share in an entity (rag/relations/ownership.py), with the statement it rests on."""

    owner_id: str
    owner: str
    percentage: float | None = None  # None: the source does not state it (never assumed)
    owner_listed: str | None = None  # why the owner is blocked, when by listing ("on the SDN list")
    asset_id: str | None = None  # set on path hops: the entity held
    asset: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    citation: RelationCitation | None = None


class OwnershipFinding(BaseModel):
    """An entity treated as blocked under the 50 percent rule ("blocked"), or one the rule cannot decide
    because blocked parties hold shares of unknown size ("undetermined")."""

    entity_id: str
    entity: str
    status: Literal["blocked", "undetermined"]
    total: float  # the sum of the known shares of blocked owners
    threshold: float = 50.0
    contributions: list[OwnershipContribution] = Field(default_factory=list)
    unknown: list[OwnershipContribution] = Field(default_factory=list)  # blocked owners' shares of unknown size
    path: list[OwnershipContribution] = Field(default_factory=list)  # listed party -> ... -> the entity
    sentence: str = ""  # set in briefings: the finding in words
    citations: list[int] = Field(default_factory=list)


class Relation(BaseModel):
    """A cited relation between two named parties, e.g. ownership(SoftBank Corp., Japan Computer Vision Corp.)."""

    id: int | None = None
    relation: str  # ownership | supplier | customer | partner | director | family | associate | linked
    subject: str  # ownership: the owner; supplier: the supplier; customer: the customer; director: the person
    object: str
    subject_id: str | None = None  # graph node ids (a list entry's doc_id, or "name:<key>")
    object_id: str | None = None
    role: str | None = None  # e.g. "wholly owned subsidiary", "technology", "Leader or official of"
    percentage: str | None = None
    date: str | None = None  # when the relation started, where the source says
    end_date: str | None = None
    status: str | None = None  # "ended" when the source says it ended (sold, no longer holds ...)
    method: str = "pattern"  # "ftm" (structured data) or "pattern" (a sentence)
    phrase: str = ""  # the relation as a plain sentence
    citation: RelationCitation


class EntityNode(BaseModel):
    node_id: str
    name: str
    aliases: list[str] = Field(default_factory=list)
    listed: bool = False
    listings: list[ScreenMatch] = Field(default_factory=list)


class EntityLinks(BaseModel):
    query: str
    entities: list[EntityNode] = Field(default_factory=list)
    relations: list[Relation] = Field(default_factory=list)


class PathEdge(BaseModel):
    source: str  # node ids, in the path's direction
    target: str
    relation: str
    direction: Literal["forward", "backward", "both"]  # forward: source is the relation's subject
    phrase: str  # the relation as stated ("Japan Computer Vision Corp. uses technology from SenseTime")
    date: str | None = None  # when the relation started, where the source says
    end_date: str | None = None  # when it ended (an ended ownership is still shown, with its end)
    citation: RelationCitation
    more_citations: list[RelationCitation] = Field(default_factory=list)


class ExposurePath(BaseModel):
    nodes: list[EntityNode]
    edges: list[PathEdge]
    end: ScreenMatch  # the listed entity the path ends at: list, program and dates


class ExposureResponse(BaseModel):
    query: str
    depth: int
    start: list[EntityNode] = Field(default_factory=list)
    listed_start: list[ScreenMatch] = Field(default_factory=list)  # the entity's own listings
    paths: list[ExposurePath] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


Briefing.model_rebuild()
