"""OFAC's 50 percent rule, computed on ownership chains.

The rule: an entity owned 50 percent or more in the aggregate, directly or indirectly, by one or more
blocked persons is itself blocked. Indirect ownership counts through an entity that is itself blocked (by
listing or by this rule) at that entity's full share, so the computation is a fixed point: start from the
blocked parties, add every entity whose direct holdings by blocked parties sum to 50 percent or more,
repeat until nothing changes. The blocked set only grows, so it ends on any graph, cycles included.

Holdings come from FollowTheMoney Ownership entities (`holdings_from_ftm`, read with the followthemoney
library) and from the relations store (`holdings_from_relations`: FtM rows and ownership relations
extracted from text, each with its citation). A holding whose percentage is not stated stays unknown: it
is never assumed to be 0 or 100, and an entity whose known blocked holdings stay under the threshold while
blocked parties hold shares of unknown size is reported as undetermined, not as clear. A holding that ended
(its end date on or before the day computed for) does not count; of several statements of one owner's
holding in one asset, the one in force that day and stated last is used.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rag.core.models import OwnershipContribution, OwnershipFinding, RelationCitation

THRESHOLD = 50.0
_WHOLLY = re.compile(r"\bwholly[- ]owned\b|\bfully[- ]owned\b|\b100\s*(?:percent|per\s+cent|%)", re.I)


@dataclass
class Holding:
    """One statement that `owner` holds `percentage` percent of `asset` (None: the share is not stated)."""

    owner: str  # a node id
    asset: str
    percentage: float | None
    owner_name: str = ""
    asset_name: str = ""
    start: dt.date | None = None
    end: dt.date | None = None
    citation: RelationCitation | None = None


@dataclass
class OwnershipResult:
    """The entities treated as blocked under the rule (`blocked`), those it cannot decide because blocked
    parties hold shares of unknown size (`undetermined`), and the blocked parties it started from."""

    blocked: dict[str, OwnershipFinding] = field(default_factory=dict)
    undetermined: dict[str, OwnershipFinding] = field(default_factory=dict)
    listed: dict[str, str] = field(default_factory=dict)  # node id -> why it is blocked (its list)

    def finding(self, node: str) -> OwnershipFinding | None:
        return self.blocked.get(node) or self.undetermined.get(node)


def parse_percentage(value, quote: str = "") -> float | None:
    """A stated percentage as a number ("14.9", "51%", "50,5"); "wholly owned" in the quote is 100."""
    if value not in (None, ""):
        try:
            return float(str(value).strip().rstrip("%").replace(",", "."))
        except ValueError:
            pass
    return 100.0 if quote and _WHOLLY.search(quote) else None


def _day(value) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    s = str(value)[:10]
    s = s + "-01-01"[len(s) - 4:] if len(s) in (4, 7) else s  # FtM dates may be partial ("2019-05", "2019")
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        return None


def in_force(holdings: Iterable[Holding], on: dt.date | None = None) -> dict[tuple[str, str], Holding]:
    """One holding per (owner, asset): of the statements in force on `on` (today when None) — started on or
    before it, not ended by it — the one with a stated percentage, then the latest start."""
    on = on or dt.date.today()
    best: dict[tuple[str, str], Holding] = {}
    for h in holdings:
        if h.owner == h.asset or (h.start and h.start > on) or (h.end and h.end <= on):
            continue
        key = (h.owner, h.asset)
        rank = (h.percentage is not None, h.start or dt.date.min)
        if key not in best or rank > (best[key].percentage is not None, best[key].start or dt.date.min):
            best[key] = h
    return best


def fifty_percent_rule(holdings: Iterable[Holding], blocked: Mapping[str, str], on: dt.date | None = None,
                       threshold: float = THRESHOLD) -> OwnershipResult:
    """The entities blocked by ownership, given the parties blocked by listing (`blocked`: node id -> why,
    e.g. "on the SDN list"); each finding holds every blocked owner's share with its citation, the sum, the
    shares of unknown size, and the path from a listed party down to the entity."""
    current = in_force(holdings, on)
    owners_of: dict[str, list[Holding]] = defaultdict(list)
    for h in current.values():
        owners_of[h.asset].append(h)
    result = OwnershipResult(listed=dict(blocked))
    is_blocked = set(blocked)
    changed = True
    while changed:  # the fixed point: each round may block entities owned by those blocked in the last
        changed = False
        for asset, hs in owners_of.items():
            if asset in is_blocked:
                continue
            by_blocked = [h for h in hs if h.owner in is_blocked]
            total = sum(h.percentage for h in by_blocked if h.percentage is not None)
            if by_blocked and total >= threshold:
                is_blocked.add(asset)
                changed = True
    for asset, hs in owners_of.items():
        if asset in blocked:
            continue
        by_blocked = sorted((h for h in hs if h.owner in is_blocked),
                            key=lambda h: (h.percentage is None, -(h.percentage or 0), h.owner_name))
        if not by_blocked:
            continue
        known = [h for h in by_blocked if h.percentage is not None]
        unknown = [h for h in by_blocked if h.percentage is None]
        total = round(sum(h.percentage for h in known), 4)
        if asset in is_blocked:
            status = "blocked"
        elif unknown:
            status = "undetermined"
        else:
            continue  # blocked owners hold less than the threshold, all shares known: not blocked
        finding = OwnershipFinding(
            entity_id=asset, entity=by_blocked[0].asset_name or asset, status=status, total=total,
            threshold=threshold,
            contributions=[_contribution(h, blocked) for h in known],
            unknown=[_contribution(h, blocked) for h in unknown])
        (result.blocked if status == "blocked" else result.undetermined)[asset] = finding
    for finding in list(result.blocked.values()) + list(result.undetermined.values()):
        finding.path = _path(finding, result, blocked)
    return result


def _contribution(h: Holding, blocked: Mapping[str, str]) -> OwnershipContribution:
    return OwnershipContribution(owner_id=h.owner, owner=h.owner_name or h.owner, percentage=h.percentage,
                                 owner_listed=blocked.get(h.owner), citation=h.citation,
                                 start=h.start, end=h.end)


def _path(finding: OwnershipFinding, result: OwnershipResult, blocked: Mapping[str, str]) -> list[OwnershipContribution]:
    """The chain from a listed party down to the entity, through its largest blocked owner at each hop
    (every owner's share is in `contributions`; this is the one line an analyst follows first)."""
    path: list[OwnershipContribution] = []
    seen = {finding.entity_id}
    here = finding
    while here is not None:
        top = (here.contributions or here.unknown)[0]
        path.insert(0, top.model_copy(update={"asset_id": here.entity_id, "asset": here.entity}))
        if top.owner_id in blocked or top.owner_id in seen:
            break
        seen.add(top.owner_id)
        here = result.blocked.get(top.owner_id)
    return path


def explain(finding: OwnershipFinding) -> str:
    """The finding in one sentence: "LLC CST is treated as blocked: A (on the SDN list) holds 51% and B
    (blocked: owned 100% by C) holds 49%, 100% in total (50% or more)."."""
    parts = []
    for c in finding.contributions + finding.unknown:
        why = f" ({c.owner_listed})" if c.owner_listed else " (itself blocked under the rule)"
        share = f"{c.percentage:g}%" if c.percentage is not None else "a share of unknown size"
        parts.append(f"{c.owner}{why} holds {share}")
    held = "; ".join(parts)
    if finding.status == "blocked":
        return (f"{finding.entity} is treated as blocked under the 50 percent rule: {held}, "
                f"{finding.total:g}% in total ({finding.threshold:g}% or more).")
    return (f"Whether {finding.entity} is blocked under the 50 percent rule cannot be decided: {held}; the known "
            f"shares of blocked owners sum to {finding.total:g}%, under {finding.threshold:g}%, and the "
            "percentage not stated is not assumed.")


# --- where holdings come from ---------------------------------------------------------------------------

def holdings_from_relations(rows: Iterable[dict], resolve_id=None) -> list[Holding]:
    """Holdings from the relations store's rows (graph rows, with subject_id/object_id set by the graph):
    FtM Ownership rows and ownership relations extracted from text, each cited by its sentence."""
    from rag.relations.graph import citation

    out = []
    for r in rows:
        if r.get("relation") != "ownership":
            continue
        owner, asset = r.get("subject_id") or r["subject"], r.get("object_id") or r["object"]
        if resolve_id is not None:
            owner, asset = resolve_id(owner), resolve_id(asset)
        if r.get("status") == "ended" and not r.get("end_date"):
            continue  # said to have ended, with no date: not in force
        out.append(Holding(owner, asset, parse_percentage(r.get("percentage"), r.get("quote") or ""),
                           r["subject"], r["object"], _day(r.get("date")), _day(r.get("end_date")),
                           citation(r)))
    return out


@dataclass
class FtmOwnership:
    """FollowTheMoney data read for the rule: holdings, names and topics by entity id."""

    holdings: list[Holding]
    names: dict[str, str]
    topics: dict[str, list[str]]
    schemata: dict[str, str]


def holdings_from_ftm(path: str | Path) -> FtmOwnership:
    """Ownership entities of a FollowTheMoney JSON-lines file (read with the followthemoney library), each
    cited by its own record; names, topics and schemata of the entities they link."""
    from followthemoney import model

    path = Path(path)
    proxies = []
    with path.open(encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                proxies.append(model.get_proxy(json.loads(line)))
            except Exception as e:  # a bad record: say which, keep the rest
                raise ValueError(f"{path.name}, line {i}: not a FollowTheMoney entity ({e})") from None
    names = {p.id: p.caption for p in proxies}
    topics = {p.id: p.get("topics") for p in proxies if p.schema.is_a("Thing")}
    schemata = {p.id: p.schema.name for p in proxies}
    holdings = []
    for p in proxies:
        if not p.schema.is_a("Ownership"):
            continue
        for owner in p.get("owner"):
            for asset in p.get("asset"):
                pct = p.first("percentage")
                quote = (f"{names.get(owner, owner)} owns {pct + '% of ' if pct else 'a share of unknown size of '}"
                         f"{names.get(asset, asset)}")
                cite = RelationCitation(chunk_id=f"ftm:{p.id}", doc_id=f"ftm:{p.id}", title="Ownership",
                                        source=f"{path.name}, FollowTheMoney entity {p.id}",
                                        date=_day(p.first("startDate")), quote=quote, start=0, end=len(quote))
                holdings.append(Holding(owner, asset, parse_percentage(pct), names.get(owner, owner),
                                        names.get(asset, asset), _day(p.first("startDate")),
                                        _day(p.first("endDate")), cite))
    return FtmOwnership(holdings, names, topics, schemata)
