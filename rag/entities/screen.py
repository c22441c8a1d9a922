"""Screening: which list entries in the store might a name refer to, how sure, and why.

The candidates are the entities of rag.entities.index.EntityIndex (every list entry in the registry, with its
names, aliases and former names); this module derives a name index from them, rebuilt when the
registry's list entries change (`EntityIndex.derived`).

Matching, in three steps:
1. Normalisation (`rag.entities.names.normalise`): case and accents folded, punctuation dropped (apostrophes joined:
   "QA'IDA" -> "qaida"), Cyrillic and Greek transliterated, and for organisations the legal-form words
   set aside ("Ltd", "Limited", "Co.", "LLC", "JSC", "Limited Liability Company", "OOO",
   "Obshchestvo s ogranichennoy otvetstvennostyu" ...). Persons keep every word.
2. Blocking: an inverted index of the names' character trigrams (padded per word, so word order does
   not matter) and of rigour's symbols of their words (given names in any script, nicknames, numbers); a
   query's candidates are the few dozen names sharing most keys with it (Dice), counted with numpy over
   the postings, so a batch stays fast against the whole SDN list. The symbols' postings are made with
   the index when rigour's person-name tables are loaded (a server warms them), else on the first screening
   that needs them: loading the tables costs seconds, and resolving the names of a question
   (`rag.entities.names.resolve_name`, screening `light`) does without them.
3. Scoring (`compare`): the best of an edit-distance similarity (rapidfuzz Indel) on the words joined
   (so "Sense Time" = "SenseTime"), the same on the words sorted (word order; no penalty for persons), the
   same without generic words such as Group/Technology/Holding (slightly discounted: "SENSETIME" ->
   "SENSETIME GROUP LIMITED"), and, for persons, every word of the shorter name aligned to a word of the
   longer one (omitted middle names or patronymics, discounted); for the best few, word by word
   (`rag.entities.matching.align`: given names and their nicknames or familiar forms, initials, numbers,
   acronyms), and a name written in another script by the consonants the two share, or a Chinese one by its
   pinyin words (`rag.entities.matching.transliterated`). A name with a part in brackets is screened by each
   of its forms (`rag.entities.names.name_forms`). The explanation names the entry's name that matched and
   the normalisations that were needed.

4. Whatever else the query says about the party (`ScreenQuery`: schema, birth date, country, identifiers)
   qualifies the name's score, as yente's logic-v1 matcher does: an identifier of the entry among the
   query's is strong evidence (the score is at least IDENTIFIER_SCORE); a birth year the entry does not
   have lowers it by 0.35, the same year but another day by 0.2 (0.1 when day and month are swapped), a
   country that is none of the entry's by 0.2, identifiers of an organisation that all differ from the
   entry's by up to 0.2. Each of these is named in the explanation and in `features`.
5. A short name inside a legal name ("DJI" in "SZ DJI TECHNOLOGY CO., LTD."): every word of the query is a
   word of the name, the name's other words are generic words and at least one one- or two-letter
   abbreviation ("SZ" for Shenzhen), and one of the query's words is rare among the names (SHORT_NAME_SCORE).

The default threshold was chosen on a development split of bench/bench_screen.py (a different seed from the
reported one): see bench/results/screen.json.
"""
from __future__ import annotations

import datetime as dt
import heapq
import re
import threading
from collections import defaultdict

import numpy as np

from rag.core.dates import iso
from rag.entities.index import EntityIndex, collector_paused, same_entry
from rag.entities.matching import (Comparison, acronyms, compare, explain, normalisations, skeleton,
                                   trigrams, which_name, whole_bounds_of, whole_sims)
from rag.core.models import ListEntry, ScreenMatch, ScreenQuery, ScreenResponse, ScreenResult
from rag.entities.names import GENERIC, Normalised, name_forms, normalise, person_tables_loaded
from rag.core.priority import query_entry, stepping
from rag.entities.qualify import IDENTIFIER_SCORE, ident_key, ident_values, qualify

_EPOCH = dt.date(1, 1, 1)
DEFAULT_THRESHOLD = 0.86
CANDIDATES = 40  # names per query kept by blocking and scored
CAREFUL = 6  # of these, compared word by word: the first by blocking and the best by the whole name (each)
MAX_MATCHES = 10  # matches returned per query
MIN_SCORE = 0.5  # below this a candidate is not shown at all

SHORT_NAME_SCORE = 0.9  # a short name inside a legal name, less 0.02 per abbreviation left over
SHORT_NAME_RARE = 5  # ... when one of its words is in at most this many entries' names
SCHEMAS = {"person": "person", "individual": "person", "people": "person", "company": "company",
           "organization": "company", "organisation": "company", "legalentity": "company", "entity": "company",
           "vessel": "vessel", "ship": "vessel", "aircraft": "aircraft", "airplane": "aircraft"}


def is_person(entry: ListEntry) -> bool:
    return entry.entity_type == "person"


def is_entity(entry: ListEntry) -> bool:
    """FollowTheMoney Sanction and relation records are stored as list entries but are not screened."""
    return entry.record == "entity"


def type_ok(entry: ListEntry, type_: str | None) -> bool:
    if not type_:
        return True
    person = is_person(entry)
    if type_ == "person":
        return person
    if type_ in ("vessel", "aircraft"):
        return entry.entity_type == type_
    return not person and entry.entity_type not in ("vessel", "aircraft")


def schema_type(schema: str | None) -> str | None:
    """The screening type a schema names (person, company, vessel, aircraft); ValueError for others."""
    if not schema:
        return None
    t = SCHEMAS.get("".join(schema.lower().split()))
    if t is None:
        raise ValueError(f"unknown schema {schema!r}: one of {', '.join(sorted(set(SCHEMAS)))}")
    return t


class NameIndex:
    """The screening index over an EntityIndex's entries: names, trigram postings, identifiers."""

    def __init__(self, entries: list[ListEntry]):
        # One entity per listing: the same entry from a feed and a file, or in two versions of its list, is
        # screened once (its latest version), with every source it came from.
        groups: dict[tuple, list[ListEntry]] = defaultdict(list)
        for e in entries:
            if is_entity(e):
                groups[same_entry(e)].append(e)
        self.entries: list[ListEntry] = []
        self.sources: list[list[str]] = []
        for group in groups.values():
            group.sort(key=lambda e: (e.list_published or e.last_updated or _EPOCH, e.doc_id))
            self.entries.append(group[-1])
            self.sources.append(sorted({e.source for e in group if e.source}))
        self.doc_ids = [e.doc_id for e in self.entries]
        self._position = {d: i for i, d in enumerate(self.doc_ids)}
        self._listings: dict[int, dict] = {}
        self.name_entry: list[int] = []
        self.names: list[str] = []
        self.norm: list[Normalised] = []
        self.which: list[str] = []  # which of its entry's names each name is (`which_name`), for explanations
        postings: dict[str, list[int]] = defaultdict(list)
        tri_len: list[int] = []
        self._symbols: dict[str, np.ndarray] | None = None  # rigour's symbols -> names (`_symbol_postings`)
        self._sounds: dict[str, np.ndarray] | None = None  # consonant skeletons -> names (`_sound_postings`)
        self._key_len: np.ndarray | None = None  # trigrams and symbols per name
        self._lock = threading.Lock()
        self.identifiers: dict[str, set[int]] = defaultdict(set)
        self.token_names: dict[str, list[int]] = defaultdict(list)  # organisations' name words -> names
        self.acronym_names: dict[str, list[int]] = defaultdict(list)  # organisations' acronyms -> names
        for ei, e in stepping(enumerate(self.entries)):  # built by a background thread: queries go first
            person = is_person(e)
            seen: set[str] = set()
            for name, form in ((name, form) for name in e.all_names() for form in name_forms(name)):
                nm = normalise(form, person)
                key = " ".join(nm.tokens)
                if not key or key in seen:
                    continue
                seen.add(key)
                idx = len(self.names)
                self.names.append(name)
                self.name_entry.append(ei)
                self.norm.append(nm)
                self.which.append(which_name(e, form))
                if not person:
                    for t in set(nm.tokens):
                        self.token_names[t].append(idx)
                    for a in acronyms(nm):
                        self.acronym_names[a].append(idx)
                tris = trigrams(nm.tokens)
                tri_len.append(len(tris))
                for t in tris:
                    postings[t].append(idx)
            for ident in e.identifiers:
                for value in re.findall(r"[A-Za-z0-9][A-Za-z0-9\-/.]{4,}", ident.number):
                    if any(c.isdigit() for c in value):
                        self.identifiers[ident_key(value)].add(ei)
        self.postings = {t: np.asarray(v, dtype=np.int32) for t, v in postings.items()}
        self.tri_len = np.asarray(tri_len, dtype=np.float32)
        self.entry_kind = np.asarray([_kind(self.entries[i]) for i in self.name_entry], dtype=np.int8)
        if person_tables_loaded():  # a server warmed them: the symbols' postings are made with the index
            self._symbol_postings()

    def __len__(self) -> int:
        return len(self.entries)

    def _symbol_postings(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Rigour's symbols of every name's words -> names, and each name's count of keys (trigrams and
        symbols); made once, on the first screening that blocks by symbols."""
        if self._symbols is not None:
            return self._symbols, self._key_len
        with self._lock:
            if self._symbols is None:
                postings: dict[str, list[int]] = defaultdict(list)
                key_len = self.tri_len.copy()
                for idx, nm in enumerate(self.norm):
                    syms = symbols(nm)
                    key_len[idx] += len(syms)
                    for s in syms:
                        postings[s].append(idx)
                self._key_len = key_len
                self._symbols = {s: np.asarray(v, dtype=np.int32) for s, v in postings.items()}
        return self._symbols, self._key_len

    def _sound_postings(self) -> dict[str, np.ndarray]:
        """The consonant skeleton of every name's words (`sound_keys`) -> names; made once, on the first
        screening of a name written in another script."""
        if self._sounds is not None:
            return self._sounds
        with self._lock:
            if self._sounds is None:
                postings: dict[str, list[int]] = defaultdict(list)
                for idx, nm in enumerate(self.norm):
                    for k in sound_keys(nm.tokens):
                        postings[k].append(idx)
                self._sounds = {k: np.asarray(v, dtype=np.int32) for k, v in postings.items()}
        return self._sounds

    def _trigram_counts(self, tokens: list[str]) -> tuple[set[str], np.ndarray | None]:
        """The trigrams of a name's words and how many of them each name of the index shares (None: none)."""
        tris = trigrams(tokens)
        arrays = [self.postings[t] for t in tris if t in self.postings]
        # Keys shared per name, counted over every name at once (linear; sorting the postings is not).
        return tris, np.bincount(np.concatenate(arrays), minlength=len(self.names)) if arrays else None

    def candidates(self, q: Normalised, type_: str | None, k: int = CANDIDATES, light: bool = False,
                   counted: tuple[set[str], np.ndarray | None] | None = None,
                   syms: set[str] | None = None) -> list[int]:
        """The names sharing most blocking keys with `q`; `light`: trigrams only (no rigour analysis).
        `counted`: `_trigram_counts(q.tokens)` when already made (the person and organisation readings of a
        query often share their words and differ in rigour's symbols only); `syms`: `symbols(q)` when made."""
        tris, counts = counted or self._trigram_counts(q.tokens)
        key_len = self.tri_len
        if not light:
            sym_postings, key_len = self._symbol_postings()
            syms = symbols(q) if syms is None else syms
            arrays = [sym_postings[s] for s in syms if s in sym_postings]
            if arrays:
                sym_counts = np.bincount(np.concatenate(arrays), minlength=len(self.names))
                counts = sym_counts if counts is None else counts + sym_counts
            tris = tris | syms
            if "transliteration" in q.applied:
                # a name in another script shares few trigrams with its Latin spellings ("koem son" /
                # "kim sun"), more often its consonants (as `transliterated` compares them)
                sound_postings = self._sound_postings()
                keys = sound_keys(q.tokens) | sound_keys(q.tokens, w_consonant=True)
                arrays = [sound_postings[k] for k in keys if k in sound_postings]
                if arrays:
                    sound_counts = np.bincount(np.concatenate(arrays), minlength=len(self.names))
                    counts = sound_counts if counts is None else counts + sound_counts
                tris = tris | keys
        if counts is None:
            return []
        want = None if not type_ else 1 if type_ == "person" else 2 if type_ in ("vessel", "aircraft") else 0
        n_keys = len(tris)

        def scored(floor: int) -> tuple[np.ndarray, np.ndarray]:
            nz = np.flatnonzero(counts >= floor)
            if want is not None:
                nz = nz[self.entry_kind[nz] == want]
            return nz, 2 * counts[nz] / (n_keys + key_len[nz])

        # Most names share one key (a trigram) only; a name has at least as many keys as it shares, so
        # one of them ranks among the first k only when its Dice, at most 2 / (n_keys + 1), reaches the
        # k-th best of the others.
        nz, dice = scored(2)
        kth = -np.partition(-dice, k - 1)[k - 1] if len(nz) >= k else 0.0  # the k-th best Dice
        if kth <= 2 / (n_keys + 1):
            nz, dice = scored(1)
            kth = -np.partition(-dice, k - 1)[k - 1] if len(nz) > k else 0.0
        if len(nz) > k:
            keep = dice >= kth  # the k best and any tied with the k-th
            nz, dice = nz[keep], dice[keep]
        order = np.lexsort((nz, -dice))[:k]  # best first; ties by index, whatever the subset counted
        return nz[order].tolist()

    def screen_query(self, q: str | ScreenQuery, type_: str | None, threshold: float,
                     limit: int = MAX_MATCHES) -> ScreenResult:
        """`screen_one` for a name or a query with details (its schema, else `type_`)."""
        if isinstance(q, ScreenQuery):
            return self.screen_one(q.name, schema_type(q.schema_) or type_, threshold, limit, q)
        return self.screen_one(q, type_, threshold, limit)

    def screen_one(self, query: str, type_: str | None, threshold: float, limit: int = MAX_MATCHES,
                   details: ScreenQuery | None = None, light: bool = False) -> ScreenResult:
        """Screen one name; `details` (birth date, country, identifiers) qualify the name's score. `light`:
        without rigour's person-name tables (blocking by trigrams, persons' names compared without
        given-name symbols: `Normalised.light`), for resolving the names of a question in a fresh process.
        A name with a part in brackets ("Joint Stock Company Zvezda (JSC Zvezda)") is screened as written,
        without the brackets and by each part inside them (`name_forms`): each entry's best match is kept."""
        forms = name_forms(query)
        if len(forms) == 1:
            return self._screen_one(query, type_, threshold, limit, details, light)
        best: dict[str, ScreenMatch] = {}
        for form in forms:
            for m in self._screen_one(form, type_, threshold, limit, details, light).matches:
                if m.entity_id not in best or m.score > best[m.entity_id].score:
                    best[m.entity_id] = m
        ranked = sorted(best.values(), key=lambda m: (-m.score, m.entity_id))[:limit]
        return ScreenResult(query=query, matches=ranked)

    def _screen_one(self, query: str, type_: str | None, threshold: float, limit: int,
                    details: ScreenQuery | None, light: bool) -> ScreenResult:
        found: dict[int, tuple[Comparison, int]] = {}
        variants = {
            True: normalise(query, True),
            False: normalise(query, False),
        }
        norm = self.norm
        if light:
            variants = {k: v.light() for k, v in variants.items()}
            norm = _Light(self.norm)
        syms: dict[bool, set[str] | None] = {}

        def sym(person: bool) -> set[str] | None:  # rigour's symbols of a reading, made once (none if light)
            if person not in syms:
                syms[person] = None if light else symbols(variants[person])
            return syms[person]

        if type_ == "person":
            blocking = [True]
        elif type_:
            blocking = [False]
        else:
            # the person variant blocks apart when its keys differ (its words, or rigour's symbols of them)
            blocking = [False] + ([True] if variants[True].tokens != variants[False].tokens
                                  or not light and sym(True) != sym(False) else [])
        cand: list[int] = []
        counted: dict[tuple[str, ...], tuple] = {}
        for person in blocking:
            v = variants[person]
            key = tuple(v.tokens)
            if key not in counted:
                counted[key] = self._trigram_counts(v.tokens)
            cand += self.candidates(v, type_, light=light, counted=counted[key], syms=sym(person))
        if type_ != "person" and len(variants[False].tokens) == 1:
            cand += self.acronym_names.get(variants[False].tokens[0], [])[:CANDIDATES]
        cand = list(dict.fromkeys(cand))
        # Two stages: the whole-name comparison for every candidate, the word-by-word one for the first
        # few by blocking (which counts rigour's symbols: nicknames, names in other scripts) and the best
        # few by the whole name.
        # Without details, scores are final once compared: candidates that cannot reach the matches shown are
        # not compared at all (details may raise an entry by its identifiers, so then every one is).
        cheap = self._whole(variants, cand, norm, self.name_entry if details is None else None, limit)
        careful = set(cand[:CAREFUL]) | {cand[i] for i in sorted(cheap, key=lambda i: (-cheap[i].score, i))[:CAREFUL]}
        for i in sorted(cheap):
            ni, c = cand[i], cheap[i]
            n = norm[ni]
            if ni in careful and c.score < 0.999:
                c = compare(variants[n.person], n, whole=c.whole)
            ei = self.name_entry[ni]
            if ei not in found or c.score > found[ei][0].score:
                found[ei] = (c, ni)
        if type_ != "person":
            for ni, c in self.short_names(variants[False]):
                ei = self.name_entry[ni]
                if type_ok(self.entries[ei], type_) and (ei not in found or c.score > found[ei][0].score):
                    found[ei] = (c, ni)
        # Identifiers (registration numbers, IMO numbers ...) match exactly, in the name or given apart.
        given = [v for i in (details.identifiers if details else []) for v in ident_values(i)]
        hits: dict[int, str] = {}
        for value in ident_values(query) + given:
            for ei in self.identifiers.get(ident_key(value), ()):
                if not type_ok(self.entries[ei], type_):
                    continue
                hits[ei] = value
                score = IDENTIFIER_SCORE if value in given else 1.0
                if ei not in found or found[ei][0].score < score:
                    found[ei] = (Comparison(score, "identifier", ["identifier"]), -1)
        entries = self.entries

        def qualified(ei: int, c: Comparison) -> tuple[list[str], str]:
            return qualify(entries[ei], details, given, c, hits.get(ei), is_person(entries[ei]))

        # What else the query says changes scores, so it is weighed for every candidate before ranking;
        # without it, only for the matches shown.
        extra = {ei: qualified(ei, c) for ei, (c, _) in found.items()} if details is not None else {}
        doc_ids = self.doc_ids
        shown = [x for x in found.items() if x[1][0].score >= MIN_SCORE]  # below it a candidate is not shown
        ranked = heapq.nsmallest(limit, shown, key=lambda x: (-x[1][0].score, doc_ids[x[0]]))
        matches = []
        for ei, (c, ni) in ranked:
            if ni >= 0:
                n = norm[ni]
                c.applied = normalisations(variants[n.person], n, c) if c.how != "short name" else ["short name"]
                c.explanation = explain(query, self.entries[ei], c, variants[n.person], n, self.which[ni])
                if ei in hits:
                    c.explanation += f" Identifier {hits[ei]} is one of its identifiers too."
            else:
                c.explanation = f'"{query}": identifier {hits[ei]} is an identifier of {self.entries[ei].name}.'

            features, said = extra[ei] if details is not None else qualified(ei, c)
            score = round(min(1.0, max(0.0, c.score)), 4)
            matches.append({**self._listing(ei), "score": score, "match": score >= threshold,
                            "explanation": c.explanation + said, "normalisations": c.applied,
                            "matched_name": (self.names[ni] if ni >= 0 else "") or entries[ei].name,
                            "features": features})
        # validated at once (pydantic's core): a batch makes thousands of matches
        return ScreenResult.model_validate({"query": query, "matches": matches})

    @staticmethod
    def _whole(variants: dict[bool, Normalised], cand: list[int], norm, name_entry: list[int] | None = None,
               limit: int = MAX_MATCHES) -> dict[int, Comparison]:
        """The whole-name comparisons of the candidates (by position) that can matter: the first CAREFUL (they
        are compared word by word), every one whose bound (`whole_bounds_of`) reaches MIN_SCORE, and in order
        of their bounds the others until the CAREFUL best scores are known. With `name_entry` (the entry of
        each name), also none whose bound is below the scores of `limit` entries already compared (and of
        CAREFUL names): a careful comparison mostly raises a score, so such a name could neither be shown nor
        be among the best few compared word by word. (It lowers one where a given name is another name
        rigour knows, `different_names`: then which names were compared can decide the weakest matches
        shown, so a change to the bounds or their order may change those.)"""
        names = [norm[ni] for ni in cand]
        if variants[True].tokens == variants[False].tokens:  # one set of similarities and bounds for all
            got = whole_sims(variants[False], names)
            bound = whole_bounds_of(variants[False], names, got).tolist()
            sims = got.T.tolist()  # per candidate: the similarities compare() starts from
        else:
            bound_a = np.zeros(len(cand))
            sims_a = np.zeros((3, len(cand)))
            for person in (False, True):
                at = [i for i, n in enumerate(names) if n.person == person]
                if at:
                    group = [names[i] for i in at]
                    sims_a[:, at] = got = whole_sims(variants[person], group)
                    bound_a[at] = whole_bounds_of(variants[person], group, got)
            bound, sims = bound_a.tolist(), sims_a.T.tolist()
        out = {i: compare(variants[names[i].person], names[i], careful=False, sims=sims[i])
               for i in range(min(CAREFUL, len(cand)))}
        keep = max(limit, CAREFUL)
        entry_best: dict[int, float] = {}  # entry -> its best score so far
        if name_entry is not None:
            for i, c in out.items():
                ei = name_entry[cand[i]]
                entry_best[ei] = max(c.score, entry_best.get(ei, -1.0))
        floor, stale = -1.0, True  # the keep-th best entry's score so far (-1 until keep entries are known)
        best: list[float] = []
        for i in sorted(range(len(bound)), key=bound.__getitem__, reverse=True):
            if i in out:
                continue
            if name_entry is not None and len(entry_best) >= keep:
                if stale:
                    floor, stale = sorted(entry_best.values())[-keep], False
                if bound[i] < floor:
                    break  # below keep entries' scores: so are the rest, whose bounds are lower
            if bound[i] < MIN_SCORE:
                if not best:
                    best = sorted((c.score for c in out.values()), reverse=True)
                if len(best) >= CAREFUL and best[CAREFUL - 1] > bound[i]:
                    break  # neither shown nor among the best few: nor are the rest, whose bounds are lower
            n = names[i]
            c = out[i] = compare(variants[n.person], n, careful=False, sims=sims[i])
            if name_entry is not None:
                ei = name_entry[cand[i]]
                if c.score > entry_best.get(ei, -1.0):
                    entry_best[ei] = c.score
                    stale = stale or c.score > floor
            if best:
                best = sorted(best + [c.score], reverse=True)
        return out

    def short_names(self, q: Normalised) -> list[tuple[int, Comparison]]:
        """Names that hold a short name whole ("DJI" in "SZ DJI TECHNOLOGY CO., LTD."): every word of the
        query is a word of the name, the name's other words are generic or abbreviations of one or two
        letters, and one of the query's words is rare among the names."""
        words = [t for t in q.tokens if t not in GENERIC]
        if not words or len(q.tokens) > 3 or not all(len(t) >= 3 for t in words):
            return []
        postings = [self.token_names.get(t, []) for t in q.tokens]
        if not all(postings):
            return []
        # cheap first: a word of at most a few names (several names per entry), then the entries it is in
        if not any(t in words and len(p) <= 4 * SHORT_NAME_RARE and len({self.name_entry[i] for i in p})
                   <= SHORT_NAME_RARE for t, p in zip(q.tokens, postings)):
            return []
        smallest = min(postings, key=len)
        others = [set(p) for p in postings if p is not smallest]
        out = []
        for ni in dict.fromkeys(i for i in smallest if all(i in o for o in others)):
            rest = [t for t in self.norm[ni].tokens if t not in q.tokens]
            abbreviations = [t for t in rest if t not in GENERIC]
            # Generic words alone are compare()'s "generic words"; this is for abbreviations ("SZ" DJI).
            if not abbreviations or not all(t in GENERIC or len(t) <= 2 for t in rest):
                continue
            out.append((ni, Comparison(SHORT_NAME_SCORE - 0.02 * len(abbreviations), "short name")))
        return out

    def named(self, doc_id: str, explanation: str) -> ScreenMatch:
        """The entry with this doc_id as a certain match (1.0): an entry the source data names by its id
        (a relation's FollowTheMoney reference), not found by its name."""
        ei = self._position[doc_id]
        return ScreenMatch.model_validate({**self._listing(ei), "score": 1.0, "match": True,
                                           "explanation": explanation, "matched_name": self.entries[ei].name})

    def _listing(self, ei: int) -> dict:
        """What a match says of its entry, whatever the query (made once per entry, when first matched)."""
        got = self._listings.get(ei)
        if got is None:
            e = self.entries[ei]
            got = self._listings[ei] = {
                "entity_id": e.doc_id, "name": e.name, "list": e.list, "programs": e.programs,
                "listed_on": iso(e.listing_date), "entity_type": e.entity_type, "listed": e.sanctioned,
                "lists": e.lists or ([e.list] if e.list else []), "authority": e.authority,
                "effective_date": iso(e.effective_date), "divestment_date": iso(e.divestment_date),
                "countries": e.countries or e.nationalities, "identifiers": [str(i) for i in e.identifiers[:10]],
                "source": e.source, "sources": self.sources[ei], "birth_dates": e.birth_dates[:5]}
        return got


def sound_keys(tokens: list[str], w_consonant: bool = False) -> set[str]:
    """Blocking keys of a name's words by their consonants (`skeleton`, two or more): what a name written in
    another script shares with its Latin spellings."""
    return {"SND:" + k for k in (skeleton(t, w_consonant) for t in tokens) if len(k) >= 2}


def symbols(n: Normalised) -> set[str]:
    """Rigour's symbols of a name's words that blocking counts besides its trigrams (one given name in any
    script, a nickname, a number: "NAME:Q...")."""
    return {s for p in n.parts for s in p.symbols if not s.startswith("INITIAL")}


class _Light:
    """The index's names as `Normalised.light` gives them (for `NameIndex.screen_one(light=True)`)."""

    def __init__(self, norm: list[Normalised]):
        self.norm = norm

    def __getitem__(self, i: int) -> Normalised:
        return self.norm[i].light()


def _kind(e: ListEntry) -> int:
    """0 organisation, 1 person, 2 vessel/aircraft (for the type filter)."""
    if is_person(e):
        return 1
    return 2 if e.entity_type in ("vessel", "aircraft") else 0


def name_index(entity_index: EntityIndex) -> NameIndex:
    """The screening index for an EntityIndex, rebuilt when the registry's list entries change."""
    return entity_index.derived("screen.names", lambda ix: NameIndex(list(ix.entries.values())))


@query_entry
def screen_names(entity_index: EntityIndex, names: list[str | ScreenQuery], type: str | None = None,
                 threshold: float = DEFAULT_THRESHOLD, limit: int = MAX_MATCHES) -> ScreenResponse:
    """Screen names, or queries with a schema, birth date, country and identifiers: one result each, in
    order; the response says which lists (with their publication dates) were screened."""
    idx = name_index(entity_index)
    todo: dict[tuple, str | ScreenQuery] = {}  # a name a file gives again is screened once (results never change)
    for n in names:
        todo.setdefault(_query_key(n), n)
    done: dict[tuple, ScreenResult] = {}
    with collector_paused():
        for k, q in todo.items():
            done[k] = idx.screen_query(q, type, threshold, limit)
    results = [done[_query_key(n)] for n in names]
    return ScreenResponse(results=results, threshold=threshold, type=type, entries=len(idx),
                          lists=entity_index.lists_loaded())


def _query_key(q: str | ScreenQuery) -> tuple:
    if isinstance(q, ScreenQuery):
        return (q.name, q.schema_, q.birth_date, q.country, tuple(q.identifiers))
    return (q,)


def screen_queries(names: list[str], lines: str = "", schema: str | None = None, birth_date: str | None = None,
                   country: str | None = None, identifiers: list[str] | None = None) -> list[str | ScreenQuery]:
    """What the CLI screens: its names (with the details its options give, applied to each), then the lines
    of a file, each a name or a JSON query ({"name", "schema", "birth_date", "country", "identifiers"})."""
    import json

    from pydantic import ValidationError

    out: list[str | ScreenQuery] = []
    details = {"schema": schema, "birth_date": birth_date, "country": country, "identifiers": identifiers or []}
    for n in names:
        out.append(ScreenQuery(name=n, **details) if any(details.values()) else n)
    for i, line in enumerate(x.strip() for x in lines.splitlines()):
        if not line:
            continue
        if line.startswith("{"):
            try:
                out.append(ScreenQuery.model_validate(json.loads(line)))
            except (json.JSONDecodeError, ValidationError) as e:
                raise ValueError(f"line {i + 1}: not a screening query ({str(e).splitlines()[0]})") from None
        else:
            out.append(ScreenQuery(name=line, **details) if any(details.values()) else line)
    for q in out:
        if isinstance(q, ScreenQuery):
            schema_type(q.schema_)
    return out


def screen(rb, names: list[str | ScreenQuery], type: str | None = None, threshold: float = DEFAULT_THRESHOLD,
           limit: int = MAX_MATCHES) -> ScreenResponse:
    """Screen names against every list entry in `rb`'s store: one result per name, in order,
    matches best first. `type` is "company" or "person" (None: both)."""
    if type not in (None, "company", "person", "vessel", "aircraft"):
        raise ValueError(f"type must be 'company', 'person', 'vessel' or 'aircraft', not {type!r}")
    return screen_names(entity_index(rb), names, type, threshold, limit)


def entity_index(rb) -> EntityIndex:
    """The store's shared EntityIndex (the one answers and briefings use)."""
    return rb.store.entities
