"""Fact cases generated from the list data itself (issue 12), so that any entry and field can be a case.

`python -m eval.gen_facts` parses the lists of the eval corpus with the project's own parsers
(../shared/data: OFAC's consolidated non-SDN XML and the EU's Regulation 2020/1998 annex), picks entries
by a fixed seed among those the hand-written cases never name, and writes one question per (entry, field)
in the words analysts use (short names, lower case, a dropped letter, "who is X linked to", "is X still
on"), the expected value taken from the typed entry. Unanswerable cases ask an entry for a field it does
not have. Every third entry goes to the held-out split, written with phrasings of its own that the
planner's field descriptions were never compared with (`split: heldout`); the report gives both apart.

Output: eval/datasets/facts_generated.jsonl (read by the runner after facts.jsonl).
"""
from __future__ import annotations

import json
import random
import re

from eval import DATASETS, data_dir
from eval.corpora import CONSOLIDATED, read_jsonl
from ingest.formats import parse
from rag.core.dates import iso
from rag.entities.names import fold

OUT = DATASETS / "facts_generated.jsonl"
EU_FILE = "eu/consolidated/32020R1998.csv"

# Per field: (dev phrasings, held-out phrasings). {n} is the entity as an analyst writes it.
PHRASES = {
    "listing_date": (["when was {n} listed?", "{n} - date added to the list?"],
                     ["since when has {n} been on the list?", "what's the designation date for {n}"]),
    "divestment_date": (["divestment deadline for {n}?", "by when must US investors sell {n} securities?"],
                        ["last day to offload {n} holdings under the CMIC rules?"]),
    "effective_date": (["when did the listing of {n} take effect?"], ["effective date for {n}?"]),
    "identifiers": (["what {t} does the list give for {n}?", "{n} {t}?"], ["need the {t} for {n}"]),
    "birth_date": (["dob of {n}?", "when was {n} born?"], ["how old is {n} - birth date on the listing?"]),
    "birth_place": (["where was {n} born?"], ["{n} place of birth?"]),
    "nationality": (["what nationality is {n}?"], ["which country is {n} a citizen of?"]),
    "links": (["who is {n} linked to?"], ["which entity is {n} tied to on the list?"]),
    "positions": (["what position does {n} hold?"], ["what's {n}'s job according to the EU?"]),
    "programs": (["which program is {n} listed under?"], ["under what sanctions regime was {n} designated?"]),
}
MISSING = {  # asked of entries that lack the field: the answer must say the sources do not say
    "birth_date": ["dob of {n}?", "when was {n} born?"],
    "identifiers": ["what passport number does the list give for {n}?"],
    "addresses": ["what address does the list record for {n}?"],
    "links": ["who is {n} linked to?"],
}


def short_name(name: str, person: bool) -> str:
    """The entity as an analyst writes it: a person's name in natural order, a company without its form."""
    if person and "," in name:
        last, first = name.split(",", 1)
        return f"{first.strip()} {last.strip().title()}"
    words = [w for w in re.split(r"\s+", name) if fold(w) not in
             {"co", "ltd", "limited", "corporation", "corp", "company", "inc", "llc", "group", "holding", "holdings"}]
    return " ".join(words).strip(" ,.") or name


def typo(name: str, rng: random.Random) -> str:
    """One letter dropped from the longest word (as typed in a hurry)."""
    words = name.split()
    i = max(range(len(words)), key=lambda k: len(words[k]))
    w = words[i]
    if len(w) < 7:
        return name
    j = rng.randrange(2, len(w) - 2)
    words[i] = w[:j] + w[j + 1:]
    return " ".join(words)


def entries():
    data = data_dir()
    out = []
    for path, source in ((data / CONSOLIDATED, "consolidated_nonSDN_2025-06-30"), (data / EU_FILE, "32020r1998")):
        for d in parse(path):
            if d.entry is not None and d.entry.record == "entity":
                out.append((d, source))
    return out


def known_names() -> set[str]:
    text = " ".join(c["question"] + " " + c.get("provenance", "") for c in read_jsonl(DATASETS / "facts.jsonl"))
    return set(fold(text).split())


def main(seed: int = 12, per_split: int = 60) -> None:
    rng = random.Random(seed)
    named = known_names()
    pool = [(d, s) for d, s in entries()
            if not any(w in named for w in fold(d.entry.name).split() if len(w) > 4)]
    rng.shuffle(pool)
    cases: list[dict] = []
    n_answer = n_missing = 0
    for k, (d, source) in enumerate(pool):
        e = d.entry
        person = e.entity_type == "person"
        split = "heldout" if k % 3 == 2 else "dev"
        name = short_name(e.name, person)
        if len(fold(name)) < 4:
            continue
        if rng.random() < 0.25 and split == "dev":
            name = typo(name, rng)
        elif rng.random() < 0.5:
            name = name.lower()
        cite = [{"source": source, "uid": e.uid}] if source.startswith("consolidated") else [
            {"source": source, "doc": d.doc_id.split(":")[-1]}]
        fields = []
        for f in PHRASES:
            value = {"listing_date": iso(e.listing_date), "divestment_date": iso(e.divestment_date),
                     "effective_date": iso(e.effective_date),
                     "birth_date": e.birth_dates[0] if e.birth_dates else None,
                     "birth_place": e.birth_places[0] if e.birth_places else None,
                     "nationality": e.nationalities[0] if e.nationalities else None,
                     "links": (e.links[0].object if e.links else None),
                     "positions": e.positions[0] if e.positions and len(e.positions[0]) < 80 else None,
                     "programs": e.programs[0] if e.programs else None,
                     "identifiers": None}.get(f)
            if f == "identifiers":
                ids = [i for i in e.identifiers if i.type and len(i.type) <= 25 and re.search(r"\d", i.number)]
                if ids:
                    value = (ids[0].number, ids[0].type)
            if value:
                fields.append((f, value))
        rng.shuffle(fields)
        if fields and n_answer < per_split:
            f, value = fields[0]
            dev, held = PHRASES[f]
            phrase = rng.choice(held if split == "heldout" else dev)
            if f == "identifiers":
                value, kind = value
                q = phrase.format(n=name, t=kind)
            else:
                q = phrase.format(n=name)
            cases.append({
                "id": f"gen-{len(cases) + 1:03d}", "category": "list_lookup", "split": split, "question": q,
                "facts": [[value]], "must_cite": cite, "should_refuse": False, "generated": True,
                "provenance": f"{source}, entry {e.uid or d.doc_id}: {e.name}, {f} = {value} (eval/gen_facts.py)"})
            n_answer += 1
        absent = [f for f in MISSING if not {"birth_date": e.birth_dates, "identifiers": e.identifiers,
                                              "addresses": e.addresses, "links": e.links}[f]]
        if person:
            absent = [f for f in absent if f != "addresses"]
        else:
            absent = [f for f in absent if f != "birth_date"]
        if absent and n_missing < per_split // 3 and rng.random() < 0.5:
            f = rng.choice(absent)
            q = rng.choice(MISSING[f]).format(n=name)
            cases.append({
                "id": f"gen-{len(cases) + 1:03d}", "category": "unanswerable", "split": split, "question": q,
                "facts": [], "must_cite": None, "should_refuse": True, "generated": True,
                "provenance": f"{source}, entry {e.uid or d.doc_id}: {e.name} has no {f} in the list data "
                              f"(eval/gen_facts.py)"})
            n_missing += 1
        if n_answer >= per_split and n_missing >= per_split // 3:
            break
    OUT.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
    print(f"{len(cases)} cases ({n_answer} answerable, {n_missing} unanswerable) -> {OUT}")


if __name__ == "__main__":
    main()
