"""The 50 percent rule in a briefing: the ownership relations of the store (FollowTheMoney Ownership rows
and ownership stated in text) computed by rag/relations/ownership.py, from the parties on lists whose
effect the store's passages state as blocking (and to which no passage says the rule does not apply),
reported for the entity and the parties it is linked to, each hop's statement cited."""
from __future__ import annotations

import datetime as dt

from rag.answering.evidence import Draft, Evidence, row_to_result, set_aside
from rag.briefing.facts import Facts, Subject, is_headline
from rag.briefing.rules import ListConcerned, ListRule, list_key, list_rules
from rag.core.models import OwnershipFinding
from rag.relations.ownership import explain, fifty_percent_rule, holdings_from_relations

SECTION = "Ownership and the 50 percent rule"


def ownership_findings(rb, subject: Subject, rules: list[ListRule], facts: Facts, section: Draft,
                       as_of: dt.date | None) -> tuple[list[OwnershipFinding], dict[str, list[Evidence]]]:
    """The findings about the entity and its linked parties, and the evidence of each (by entity id)."""
    from rag.relations.links import links_for

    try:
        graph = links_for(rb).graph()
        own = {n.node_id for n in rb.links(subject.entity).entities}
    except Exception:  # a store without relations
        return [], {}
    rows = [r for r in graph.rows if r.get("relation") == "ownership" and r.get("subject_id")
            and not (as_of and r.get("doc_date") and str(r["doc_date"])[:10] > as_of.isoformat())]
    holdings = holdings_from_relations(rows)
    # The blocking lists: those concerned here, and those of the owners in these holdings.
    kinds = {list_key(r.lst.name): r for r in rules}
    owners = {h.owner for h in holdings}
    entries = rb.store.entities.entries
    other_lists: dict[str, ListConcerned] = {}
    for nid in owners:
        node = graph.nodes.get(nid)
        for m in node.listings if node is not None else []:
            for name in (m.lists or [m.list]) if m.listed else []:
                if name and list_key(name) not in kinds:
                    other_lists.setdefault(list_key(name), ListConcerned(name))
    for r in list_rules(rb, subject, other_lists) if other_lists else []:
        kinds[list_key(r.lst.name)] = r
    blocking = {k for k, r in kinds.items() if r.kind == "blocking"
                and not any("50" in rule for rule, _ in r.not_applicable)}
    blocked: dict[str, str] = {}
    for nid in owners:
        node = graph.nodes.get(nid)
        for m in node.listings if node is not None else []:
            if not m.listed or (m.entity_id in entries and not subject.allowed(entries[m.entity_id])):
                continue
            on = [x for x in (m.lists or [m.list]) if x and list_key(x) in blocking]
            if on:
                blocked[nid] = f"on the {on[0]} list"
    result = fifty_percent_rule(holdings, blocked, on=as_of)
    near = set(own)
    for nid in own:
        near |= {e.target for e in graph.adj.get(nid, [])}
    findings = [f for f in list(result.blocked.values()) + list(result.undetermined.values()) if f.entity_id in near]
    evidence: dict[str, list[Evidence]] = {}
    for f in findings:
        evs = _evidence(rb, [c.citation for c in f.contributions + f.unknown + f.path if c.citation])
        evidence[f.entity_id] = evs
        f.sentence = explain(f)
        section.notes.append(f"Computed: {f.sentence}")
        for ev in evs:
            facts.add(SECTION, ev.text, [ev])
    if not findings:
        n = sum(1 for h in holdings if h.percentage is not None)
        section.notes.append(
            f"No party of {subject.entity} or linked to it is owned 50 percent or more by blocked persons in the "
            f"ownership relations of the store ({n} holding{'s' if n != 1 else ''} with a stated percentage, "
            f"{len(blocked)} blocked owner{'s' if len(blocked) != 1 else ''} among them).")
    return findings, evidence


def _evidence(rb, citations) -> list[Evidence]:
    rows = rb.store.chunk_rows(list(dict.fromkeys(c.chunk_id for c in citations)))
    results = {r.chunk_id: r for r in set_aside([row_to_result(x, 0.0) for x in rows.values()])[0]}
    out, seen = [], set()
    for c in citations:
        r = results.get(c.chunk_id)
        if r is None or (c.chunk_id, c.start) in seen or is_headline(r, c.start):
            continue
        seen.add((c.chunk_id, c.start))
        out.append(Evidence(r.text[c.start:c.end].strip(), r, c.start, c.end))
    return out
