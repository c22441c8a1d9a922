"""Two briefings of one subject compared: the relations added, ended (a source of the newer one says so)
or no longer stated, those whose percentage or listing changed, list effects and 50 percent findings
added or gone, and the rating."""
from __future__ import annotations

from rag.core.models import Briefing, BriefingChange, BriefingComparison, BriefingExposure
from rag.entities.names import fold


class DifferentSubjects(ValueError):
    """The two briefings are about different subjects."""


def _key(x: BriefingExposure) -> tuple:
    return (fold(x.entity), x.relation, fold(x.party), fold(x.via or ""))


def _say(x: BriefingExposure) -> str:
    pct = f" ({x.percentage}%)" if x.percentage else ""
    return f"{x.entity}: {x.strength}{pct} of {x.party}" + (f" (via {x.via})" if x.via else "")


def compare(old: Briefing, new: Briefing) -> BriefingComparison:
    """What changed from `old` to `new` (the older one first; they are swapped when given the other way)."""
    if fold(old.entity) != fold(new.entity):
        raise DifferentSubjects(f"the briefings are about different subjects ({old.entity!r}, {new.entity!r})")
    if new.created_at < old.created_at:
        old, new = new, old
    changes: list[BriefingChange] = []
    before = {_key(x): x for x in old.exposure}
    after = {_key(x): x for x in new.exposure}
    for k, x in after.items():
        was = before.get(k)
        if was is None:
            changes.append(BriefingChange(kind="ended" if x.status == "ended" else "added", what="relation",
                                          text=_say(x) + (f": {x.ended_sentence}" if x.status == "ended" else ""),
                                          after=x.status))
        elif was.status != "ended" and x.status == "ended":
            changes.append(BriefingChange(kind="ended", what="relation", text=f"{_say(x)}: {x.ended_sentence}",
                                          before=was.status, after=x.status))
        elif (was.percentage, was.listed, tuple(was.lists)) != (x.percentage, x.listed, tuple(x.lists)):
            changes.append(BriefingChange(kind="changed", what="relation", text=_say(x),
                                          before=f"{was.percentage or '-'}%, lists {', '.join(was.lists) or 'none'}",
                                          after=f"{x.percentage or '-'}%, lists {', '.join(x.lists) or 'none'}"))
    for k, was in before.items():
        if k not in after:
            changes.append(BriefingChange(kind="removed", what="relation", text=f"{_say(was)} is no longer stated "
                                          "by the sources the newer briefing used", before=was.status))
    old_lists = {fold(r.list): r for r in old.rules}
    new_lists = {fold(r.list): r for r in new.rules}
    for k, r in new_lists.items():
        if k not in old_lists:
            changes.append(BriefingChange(kind="added", what="listing",
                                          text=f"{', '.join(r.parties) or new.entity} on the {r.list} list"))
    for k, r in old_lists.items():
        if k not in new_lists:
            changes.append(BriefingChange(kind="removed", what="listing",
                                          text=f"{', '.join(r.parties) or old.entity} on the {r.list} list"))
    old_own = {f.entity_id: f for f in old.ownership}
    for f in new.ownership:
        was = old_own.pop(f.entity_id, None)
        if was is None:
            changes.append(BriefingChange(kind="added", what="ownership", text=f.sentence, after=f.status))
        elif (was.status, was.total) != (f.status, f.total):
            changes.append(BriefingChange(kind="changed", what="ownership", text=f.sentence,
                                          before=f"{was.status}, {was.total:g}%", after=f"{f.status}, {f.total:g}%"))
    for was in old_own.values():
        changes.append(BriefingChange(kind="removed", what="ownership", text=was.sentence, before=was.status))
    if old.rating != new.rating:
        changes.append(BriefingChange(kind="changed", what="rating", text=f"rating {old.rating} -> {new.rating}",
                                      before=old.rating, after=new.rating))
    return BriefingComparison(entity=new.entity, old_id=old.id, new_id=new.id, old_created_at=old.created_at,
                              new_created_at=new.created_at, changes=changes)


def render_comparison(c: BriefingComparison) -> str:
    lines = [f"# {c.entity}: briefing {c.old_id} ({c.old_created_at:%Y-%m-%d %H:%M}) -> {c.new_id} "
             f"({c.new_created_at:%Y-%m-%d %H:%M})", ""]
    if not c.changes:
        lines.append("No change.")
    for ch in c.changes:
        extra = f" ({ch.before} -> {ch.after})" if ch.kind == "changed" and ch.before else ""
        lines.append(f"- {ch.kind} {ch.what}: {ch.text}{extra}")
    return "\n".join(lines) + "\n"
