"""The parties the relations store links the entity to, each relation one fact with its real strength
(shareholder, owner, subsidiary, supplier, customer ...) and the legal entity it is about."""
from __future__ import annotations

import datetime as dt
import re

from rag.answering.reader import Candidate, get_reader
from rag.briefing.facts import Exposure, Facts, Subject, _listing_evidence, is_headline
from rag.core.dates import iso
from rag.answering.evidence import Evidence, chunks_of_docs, row_to_result, set_aside
from rag.entities.names import core_tokens, distinctive, fold, name_key, names_any
from rag.relations.extract import extract_sentence
from rag.core.text import looks_like_instruction, statement_spans


def parties_related(sentence: str, names: list[str]) -> list[str]:
    """The other parties of the relations a sentence states with one of `names`, as rag.relations.extract extracts
    and verifies them (a negated or unstated relation gives none)."""
    out = []
    for _relation, subject_text, object_text, *_ in extract_sentence(sentence):
        for own, other in ((subject_text, object_text), (object_text, subject_text)):
            # Both may carry the entity's name ("SenseTime Group owns Shenzhen SenseTime Technology").
            if _names_one(own, names) and name_key(other) != name_key(own):
                out.append(other)
    return list(dict.fromkeys(out))


def _names_one(party: str, names: list[str]) -> bool:
    """Is `party` one of `names`, or a short form of one ("DJI" for "SZ DJI Technology")?"""
    return names_any(party, names) or (bool(distinctive(core_tokens(party)))
                                       and any(names_any(n, [party]) for n in names))


# What the entity is to the other party, by relation and by which side of it the entity is on.
_STRENGTH = {
    ("supplier", "subject"): "supplier", ("supplier", "object"): "customer",
    ("customer", "subject"): "customer", ("customer", "object"): "supplier",
    ("director", "subject"): "director or officer", ("director", "object"): "directed by",
    ("partner", "subject"): "partner", ("partner", "object"): "partner",
}
_MINORITY = re.compile(r"stake|shareholder|interest|holding|minority", re.I)


def _strength(rel: dict, entity_side: str) -> str:
    """What the entity is to the other party: shareholder (a stake, or under 50 percent) or owner,
    subsidiary (or investee, for a stake), supplier, customer, partner ..."""
    relation = rel["relation"]
    if relation == "ownership":
        pct = _pct(rel.get("percentage"))
        minority = (pct is not None and pct < 50) or bool(_MINORITY.search(rel.get("role") or ""))
        if entity_side == "subject":
            return "shareholder" if minority else "owner"
        return "investee" if minority else "subsidiary"
    return _STRENGTH.get((relation, entity_side), relation)


def _side_key(relation: str, side: str) -> str:
    """A symmetric relation (partners) is one relation whichever party the sentence names first."""
    return "subject" if relation == "partner" else side


def _pct(value) -> float | None:
    try:
        return float(str(value).replace(",", ".").rstrip("%"))
    except (TypeError, ValueError):
        return None


def _relation_evidence(rb, subject: Subject, rels: list[dict]) -> list[tuple[dict, Evidence]]:
    """The sentences that state these relations, as citable evidence (those of documents dated after
    as_of, or set aside for injected instructions, left out)."""
    until = subject.filters.until
    rows = rb.store.chunk_rows(list(dict.fromkeys(r["citation"]["chunk_id"] for r in rels)))
    results = {r.chunk_id: r for r in set_aside([row_to_result(x, 0.0) for x in rows.values()])[0]}
    out = []
    for r in rels:
        c = r["citation"]
        res = results.get(c["chunk_id"])
        if res is None or (until and (res.date is None or res.date > until)):
            continue
        a, b = c["start"], c["end"]
        if is_headline(res, a):
            continue  # a headline summarises; it is never evidence
        out.append((r, Evidence(res.text[a:b].strip(), res, a, b)))
    return out


def exposure_facts(rb, subject: Subject) -> list[Exposure]:
    """The entity's relations from the relations store (rb.links), one fact per relation between the same
    two parties, and the second hops of its exposure paths to listed parties (rb.exposure)."""
    from rag.relations.links import links_for, relation_model

    try:
        linked = rb.links(subject.entity)
        paths = rb.exposure(subject.entity, depth=2, max_paths=30).paths
        graph = links_for(rb).graph()
        nodes = graph.nodes
    except Exception:  # a store without relations: the sentence-based links still run
        return []
    own_nodes = {n.node_id: n.name for n in linked.entities}
    entries = rb.store.entities.entries

    def listed_of(node) -> tuple[bool, list[str]]:
        ms = [m for m in node.listings if m.listed and m.entity_id in entries and subject.allowed(entries[m.entity_id])]
        return bool(ms), list(dict.fromkeys(x for m in ms for x in (m.lists or [m.list]) if x))

    groups: dict[tuple, list[dict]] = {}
    for rel in linked.relations:
        d = rel.model_dump(mode="json")
        if d["subject_id"] in own_nodes:  # (both the entity's: "SenseTime Group owns Shenzhen SenseTime")
            side, own, other = "subject", d["subject_id"], d["object_id"]
        else:
            side, own, other = "object", d["object_id"], d["subject_id"]
        groups.setdefault((d["relation"], own, other, _side_key(d["relation"], side), None), []).append(d)
    # Second hops: every relation of the parties the entity owns (their customers, suppliers, owners),
    # then the paths to listed parties.
    def pair(relation: str, a: str, b: str, side: str) -> tuple:
        # supplier(A, B) is customer(B, A): one relation, whichever way the sentence puts it
        if relation in ("supplier", "customer"):
            supplier = a if (relation, side) in (("supplier", "subject"), ("customer", "object")) else b
            return ("supply", supplier, b if supplier == a else a)
        return (relation, *sorted((a, b)))

    have = {pair(k[0], k[1], k[2], k[3]) for k in groups}
    for (relation, own, other, side, _), rels in list(groups.items()):
        if relation != "ownership" or side != "subject" or other not in nodes \
                or _strength(rels[0], "subject") != "owner":
            continue  # the relations of the parties the entity owns (not of those it holds a minority stake in)
        for e in graph.adj.get(other, [])[:40]:
            if e.target in own_nodes or e.target == other:
                continue
            r2 = relation_model(e.rel).model_dump(mode="json")
            side2 = _side_key(r2["relation"], "subject" if r2["subject_id"] == other else "object")
            if r2["relation"] == "ownership" and side2 == "object":
                continue  # the subsidiary's owners: the entity itself, or stated among its own relations
            if pair(r2["relation"], other, e.target, side2) in have and (r2["relation"], other, e.target, side2,
                                                                          nodes[other].name) not in groups:
                continue
            groups.setdefault((r2["relation"], other, e.target, side2, nodes[other].name), []).append(r2)
            have.add(pair(r2["relation"], other, e.target, side2))
    for p in paths:  # second hops: the party in between and the listed party it leads to
        if len(p.edges) < 2:
            continue
        mid, end, e = p.nodes[1], p.nodes[2], p.edges[1]
        side = _side_key(e.relation, "subject" if e.direction == "forward" else "object")
        key = (e.relation, mid.node_id, end.node_id, side, mid.name)
        if key not in groups and pair(e.relation, mid.node_id, end.node_id, side) not in have:
            have.add(pair(e.relation, mid.node_id, end.node_id, side))
            groups[key] = [relation_model(x.rel).model_dump(mode="json") for x in graph.adj.get(mid.node_id, [])
                           if x.target == end.node_id and x.rel["relation"] == e.relation]
    out: list[Exposure] = []
    reader = get_reader(rb.embedder)
    for (relation, own, other, side, via), rels in groups.items():
        # the statements of the relation (a statement that it ended, from an extractor that marks them, is its end)
        pairs = _relation_evidence(rb, subject, [r for r in rels if r.get("status") != "ended"] or rels)
        if not pairs:
            continue
        # The sentence stated: one with a percentage first, then one that names the legal entity as resolved
        # ("SoftBank Group Corp." rather than "a SoftBank company"), one that is not a headline, the longest.
        own_name = fold(via or own_nodes.get(own, ""))
        # the reader's score of each sentence as a statement of the relation (its plain phrase)
        said = dict(zip((id(p) for p in pairs), reader.score(rels[0].get("phrase") or relation,
                                                             [Candidate(ev.text) for _, ev in pairs])))
        pairs.sort(key=lambda p: (not p[0].get("percentage"), f" {own_name} " not in f" {fold(p[1].text)} ",
                                  not p[1].text.endswith((".", '"', "”")), -said[id(p)]))
        evs = list({(ev.result.chunk_id, ev.start, ev.end): ev for _, ev in pairs}.values())
        node = nodes.get(other)
        if node is None:
            continue
        listed, lists = listed_of(node)
        pct = next((r.get("percentage") for r, _ in pairs if r.get("percentage")), None)
        programs = list(dict.fromkeys(p for m in node.listings if m.entity_id in entries
                                      for p in entries[m.entity_id].programs))
        x = Exposure(node.name, other, relation, _strength({**pairs[0][0], "percentage": pct}, side),
                     via or own_nodes.get(own, own), pct, listed, lists, via, evs, evs[0].text, programs)
        x.party_names = sorted(node.names | {node.name})
        dates = [ev.result.date for ev in evs if ev.result.date]
        x.stated_on = min(dates) if dates else None
        x.status = "current" if dates else "unknown"
        _currency(rb, subject, x, [r for r, _ in pairs], node.names | {node.name})
        out.append(x)
    # Listed parties first, then direct relations, ownership, and the most stated.
    out.sort(key=lambda x: (not x.listed, x.via is not None, x.relation != "ownership", -len(x.evidence)))
    return out


_ENDED = re.compile(r"\bno\s+longer\b|\b(?:sold|divested|exited|disposed\s+of|offloaded|unwound|terminated|"
                    r"ended|ceased|withdrew|pulled\s+out|cut\s+ties|stopped|dropped|removed)\b", re.I)
# What an end must be about, by relation (a sale of shares ends a holding, not a supply contract).
_ABOUT = {
    "ownership": re.compile(r"stake|share|holding|\bown|invest|interest|subsidiar|\bunit\b", re.I),
    "supplier": re.compile(r"suppl|technolog|licen|contract|\buse|\bbuy|\bsell|customer|client|algorithm", re.I),
    "customer": re.compile(r"customer|client|\bbuy|contract|\buse|suppl", re.I),
    "partner": re.compile(r"partner|cooperat|collaborat|joint", re.I),
    "director": re.compile(r"director|officer|chair|\bceo\b|board|president", re.I),
}


def _currency(rb, subject: Subject, x: Exposure, rels: list[dict], party_names: set[str]) -> None:
    """Does a source dated on or after the relation's last statement say it ended ("no longer holds a
    stake", "sold its shares")? Such a sentence names both parties and is about that relation; the
    relations store's own end (a relation extracted with status "ended") counts the same. Sources after
    the briefing's as_of day are not read (the retriever's filters)."""
    ended_rels = [r for r in rels if r.get("status") == "ended"]
    last = max((ev.result.date for ev in x.evidence if ev.result.date), default=None)
    ends: list[Evidence] = []
    if ended_rels:
        ends += [ev for _, ev in _relation_evidence(rb, subject, ended_rels)]
    own_names = [n for n in [x.own_name, *subject.names] if n]
    others = [n for n in party_names if n]
    if x.via is None and x.relation in _ABOUT:
        query = f"{x.own_name} {x.party} no longer {x.relation} ended sold"
        for r in set_aside(rb.retriever.search(query, k=8, filters=subject.filters).results)[0]:
            if r.doc_type == "list_entry" or (last and (r.date is None or r.date < last)):
                continue
            for a, b in statement_spans(r.text):
                s = r.text[a:b]
                if (not is_headline(r, a) and _ENDED.search(s) and _ABOUT[x.relation].search(s)
                        and names_any(s, own_names) and names_any(s, others) and not looks_like_instruction(s)):
                    ends.append(Evidence(s.strip(), r, a, b))
    if not ends:
        return
    ends.sort(key=lambda ev: (ev.result.date or x.stated_on or dt.date.min), reverse=True)
    x.status, x.ended_by = "ended", ends[:2]
    x.ended_on = ends[0].result.date


_MONEY = re.compile(r"(?:US\$|\$|€|£|¥|\b(?:USD|EUR|GBP|JPY)\s?)\s?\d[\d.,]*(?:\s?(?:million|billion|bn|m)\b)?|"
                    r"\b\d[\d.,]*\s+(?:million|billion|thousand)\s+(?:US\s+|U\.S\.\s+)?(?:dollars|euros|pounds|yen|yuan)\b",
                    re.I)


def amounts(subject: Subject, exposures: list[Exposure], limit: int = 3) -> list[Evidence]:
    """Sentences that state an amount of money between the entity and a party it is linked to ("putting
    235 million US dollars into SenseTime funding rounds"): the size of an investment or a contract."""
    parties = list(dict.fromkeys(n for x in exposures if x.via is None for n in [x.party, *x.party_names] if n))
    if not parties:
        return []
    out = []
    for r in subject.about:
        for a, b in statement_spans(r.text):
            s = r.text[a:b]
            if (_MONEY.search(s) and names_any(s, subject.names) and names_any(s, parties)
                    and not is_headline(r, a) and not looks_like_instruction(s)):
                out.append(Evidence(s.strip(), r, a, b))
    return list({(e.result.chunk_id, e.start): e for e in out}.values())[:limit]


def links(rb, subject: Subject, facts: Facts, exposures: list[Exposure],
          section_notes: list[str]) -> tuple[list[Evidence], dict[str, Evidence]]:
    """Links to other parties: the exposure facts of the relations store, then sentences of the passages
    retrieved that state a relation the store did not hold, and the list entries of the listed parties."""
    link_evs: list[Evidence] = []
    linked_listed: dict[str, Evidence] = {}
    own_ids = {m.entry.doc_id for m in subject.own}
    section = "Links to other parties"
    for x in exposures[:14]:
        facts.add(section, x.text, x.evidence, key=("relation", x.relation, x.own_name, x.party_id))
        link_evs += x.evidence[:1]
        if x.ended_by:  # the later source that says it ended, next to what it ends
            facts.add(section, x.ended_by[0].text, x.ended_by)
        if x.listed and x.party_id.startswith("entry:"):
            doc_id = x.party_id[len("entry:"):]
            if doc_id not in own_ids and doc_id not in linked_listed:
                entry = rb.store.entities.entries.get(doc_id)
                if entry is not None and (chunk := chunks_of_docs(rb, [doc_id])):
                    linked_listed[doc_id] = _listing_evidence(entry, chunk[0])
    stated = {(ev.result.chunk_id, ev.start) for x in exposures for ev in x.evidence}
    frontier = [(r, subject.names) for r in subject.about]
    seen: set[str] = set()
    for depth in range(1 if exposures else 2):  # the relations store already holds the second hops
        parties: list[str] = []
        for r, names in frontier:
            for a, b in statement_spans(r.text):
                s = r.text[a:b]
                if s in seen or not names_any(s, names) or looks_like_instruction(s):
                    continue
                others = parties_related(s, names)
                if not others:
                    continue
                seen.add(s)
                parties += others
                if (r.chunk_id, a) not in stated:
                    ev = Evidence(s, r, a, b)
                    link_evs.append(ev)
                    facts.add(section, s, [ev])
                for party in others:
                    for m in rb.store.entities.find_in_text(party, allowed=subject.allowed):
                        if m.entry.doc_id not in own_ids and m.entry.doc_id not in linked_listed:
                            if chunk := chunks_of_docs(rb, [m.entry.doc_id]):
                                linked_listed[m.entry.doc_id] = _listing_evidence(m.entry, chunk[0])
        if depth or not parties:
            break
        hop = list(dict.fromkeys(parties))[:4]
        frontier = [(r, hop) for r in subject.results.values() if r.doc_type != "list_entry" and names_any(r.text, hop)]
    for ev in amounts(subject, exposures):  # what the entity paid or invested in a linked party
        link_evs.append(ev)
        facts.add(section, ev.text, [ev])
    for doc_id, ev in list(linked_listed.items())[:4]:
        entry = rb.store.entities.entries.get(doc_id)
        key = ("listing", fold(entry.name), entry.list, tuple(entry.programs), iso(entry.listing_date)) if entry else None
        facts.add(section, ev.text, [ev], key=key)
    if not link_evs:
        section_notes.append(f"The sources in the store name no owners, subsidiaries, suppliers, customers or "
                             f"partners of {subject.entity}.")
    return link_evs, linked_listed
