"""The rule that applies: each list the entity or a linked party is on, its legal effect as the store's own
passages state it, and the rules those passages say do not apply to it.

Nothing here knows a list: the lists come from the entity's list entries, its linked parties' entries and
sentences about the entity that say it was put on a list ("added to the Entity List on 7 October 2019");
a list's effect is the sentence of the store that the reader scores best as saying what the list does to
those on it (and that names the list); its kind (blocking, securities, export licence) is read from that
sentence with negation taken into account ("it does not freeze assets" is not blocking). A rule (the 50
percent rule) is cited for a list only when it is about blocked persons and no passage says it does not
apply to that list (or to the order the list's program rests on).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.answering.evidence import Evidence, set_aside
from rag.answering.reader import Candidate, get_reader
from rag.briefing.facts import Subject, is_headline
from rag.core.text import looks_like_instruction, statement_spans
from rag.entities.names import fold, names_any

# A list named in a sentence: the word before "list" ("Entity List", "NS-CMIC list", "SDN list").
_LIST = re.compile(r"\b([A-Z][\w-]*(?:\s+[A-Z][\w-]*)?)\s+[Ll]ist\b")
_NOT_A_LIST = {"the", "a", "this", "that", "its", "their", "consolidated", "us", "u.s", "eu", "uk", "ofac"}
# Put on a list, for the entity named: "X was added to the Entity List", "put X on the ... List",
# "the companies added to the Entity List on ... were A, B and X".
_ADDED = r"(?:added\s+to|placed\s+on|put\s+on|designated\s+(?:on|to)|included\s+(?:on|in)|listed\s+on|on)"
_NEG = re.compile(r"\b(?:not|no|never|neither|nor|without|cannot|n['’]t|except|only\s+when)\b", re.I)
_BLOCKING = re.compile(r"\bfreez\w*|\bblock(?:s|ed|ing)?\b|asset[- ]freeze", re.I)
_SECURITIES = re.compile(r"securit(?:y|ies)|\btrading\b|\binvest\w*|\bbuy(?:ing)?\b.*\bsell", re.I)
_EXPORT = re.compile(r"\bexport\w*|\blicen[cs]e", re.I)
_EFFECT = re.compile(r"\brestricts?\b|\bprohibit(?:s|ed)?\b|\bfreez(?:e|es|ing)\b|\bblock(?:s|ed)?\b|"
                     r"\blicen[cs]e\b|\bmay\s+not\b|\bcannot\b|\bbans?\b|\bcovers?\b", re.I)
_RULE = re.compile(r"\b((?:\d+\s*(?:percent|per\s+cent|%)|[A-Z][\w-]*)\s+rule)\b", re.I)
_DOES_NOT_APPLY = re.compile(r"\b(?:does|do|did)\s+not\s+(?:apply|extend)|\bnot\s+applicable\b|\bdoes\s+not\s+cover",
                             re.I)


@dataclass
class ListConcerned:
    name: str  # as the sources write it ("NS-CMIC", "Entity List")
    parties: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)  # the program's order numbers ("13959")
    listed_by: list[Evidence] = field(default_factory=list)  # sentences saying the entity was put on it
    own: bool = False  # the entity itself is on it (not only a linked party)


@dataclass
class ListRule:
    lst: ListConcerned
    effect: Evidence | None = None
    kind: str = "other"  # blocking | securities | export | other
    not_applicable: list[tuple[str, Evidence]] = field(default_factory=list)  # (rule, the sentence)


def list_key(name: str) -> str:
    return fold(re.sub(r"\s+list$", "", name.strip(), flags=re.I))


def _program_numbers(programs) -> list[str]:
    return list(dict.fromkeys(n for p in programs for n in re.findall(r"\d{4,6}", p or "")))


def lists_in_text(subject: Subject) -> dict[str, ListConcerned]:
    """Lists sentences about the entity say it was put on (not negated), with those sentences."""
    out: dict[str, ListConcerned] = {}
    names = [n for n in subject.names if n]
    if not names:
        return out
    alt = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    for r in subject.about:
        for a, b in statement_spans(r.text):
            s = r.text[a:b]
            if is_headline(r, a) or looks_like_instruction(s) or not names_any(s, names):
                continue
            for name, m in list_names(s):
                listed = (re.search(rf"(?:{alt})(?:[’']s)?\s+(?:was|were|is|are|has\s+been|had\s+been)?\s*"
                                    rf"(?:also\s+)?{_ADDED}\s+(?:the\s+)?(?:[\w'’.-]+\s+){{0,4}}?{re.escape(m.group(0))}",
                                    s, re.I)
                          or re.search(rf"(?:put|placed|added)\s+(?:{alt})\s+(?:on|to)\s+(?:the\s+)?(?:[\w'’.-]+\s+){{0,4}}?"
                                       rf"{re.escape(m.group(0))}", s, re.I)
                          or re.search(rf"{_ADDED}\s+(?:the\s+)?{re.escape(m.group(0))}\b[^.;]*?\b(?:were|are|included?|"
                                       rf"includes)\b[^.;]*\b(?:{alt})\b", s, re.I))
                if not listed or _NEG.search(s[max(0, listed.start() - 30):listed.end()]):
                    continue
                lst = out.setdefault(list_key(name), ListConcerned(name if name.isupper() else f"{name} List"))
                lst.own = True
                lst.listed_by.append(Evidence(s, r, a, b))
    return out


def lists_concerned(subject: Subject, exposures) -> dict[str, ListConcerned]:
    """The lists the entity (its entries, and sentences that say it was put on one) and its current
    linked parties are on."""
    out = lists_in_text(subject)
    for m in subject.own:
        e = m.entry
        for name in [e.list] if e.list else []:
            lst = out.setdefault(list_key(name), ListConcerned(name))
            lst.own = True
            lst.parties.append(e.name)
            lst.aliases += _program_numbers(e.programs)
    for x in exposures:
        if not x.listed or x.status == "ended":
            continue
        for name in x.lists:
            lst = out.setdefault(list_key(name), ListConcerned(name))
            if x.party not in lst.parties:
                lst.parties.append(x.party)
            lst.aliases += _program_numbers(x.programs)
    for lst in out.values():
        lst.aliases = list(dict.fromkeys(lst.aliases))
        if lst.own and subject.entity not in lst.parties and lst.listed_by:
            lst.parties.insert(0, subject.entity)
    return out


def _sentences(rb, subject: Subject, query: str, k: int = 12) -> list[Evidence]:
    results = set_aside(rb.retriever.search(query, k=k, filters=subject.filters).results)[0]
    out = []
    for r in results:
        if r.doc_type == "list_entry":
            continue
        for a, b in statement_spans(r.text):
            s = r.text[a:b].strip()
            if s and "\n" not in s and not is_headline(r, a) and not looks_like_instruction(s):
                out.append(Evidence(s, r, a, b))
    return list({(e.result.chunk_id, e.start): e for e in out}.values())


def _names_list(sentence: str, lst: ListConcerned) -> bool:
    key = re.escape(re.sub(r"\s+list$", "", lst.name, flags=re.I))
    return bool(re.search(rf"\b{key}\b", sentence, re.I)) or any(re.search(rf"\b{a}\b", sentence) for a in lst.aliases)


def list_names(sentence: str) -> list[tuple[str, re.Match]]:
    """The lists a sentence names, each with its match: "Entity", "NS-CMIC", "SDN" (for "... Blocked Persons
    List (SDN list)" the short name in brackets)."""
    out = []
    for m in _LIST.finditer(sentence):
        name = " ".join(w for w in m.group(1).split() if fold(w) not in _NOT_A_LIST)
        if short := re.match(r"\s*\(([A-Z][\w-]+)", sentence[m.end():]):
            name = short.group(1)
        if name and not (out and out[-1][0] == name):
            out.append((name, m))
    return out


def _only_list(sentence: str, lst: ListConcerned) -> bool:
    """Does the sentence name no list but this one (a sentence contrasting two lists states neither's effect)?"""
    return all(list_key(name) == list_key(lst.name) for name, _ in list_names(sentence))


def list_label(name: str) -> str:
    """"the Entity List", "the NS-CMIC list"."""
    return f"the {name}" if re.search(r"\blist$", name, re.I) else f"the {name} list"


def effect_kind(sentence: str) -> str:
    """What a list does, read from the sentence that states it, clause by clause, negated clauses left out:
    blocking (assets frozen, blocked), securities (trading or investing in its securities), export (a
    licence to export to it), other."""
    clauses = [c for c in re.split(r"[;:]|,\s+(?:and|but|while)\s+|\s+but\s+", sentence) if c.strip()]
    kinds = []

    def said(pattern: re.Pattern, clause: str) -> bool:
        # a cue negated just before it does not count: "does not freeze", "not an asset freeze", "not blocked"
        return any(not _NEG.search(clause[max(0, m.start() - 30):m.start()]) for m in pattern.finditer(clause))

    for c in clauses:
        if said(_BLOCKING, c):
            kinds.append("blocking")
        elif said(_SECURITIES, c):
            kinds.append("securities")
        elif said(_EXPORT, c):
            kinds.append("export")
    for k in ("blocking", "securities", "export"):
        if k in kinds:
            return k
    return "other"


def list_rules(rb, subject: Subject, lists: dict[str, ListConcerned]) -> list[ListRule]:
    """Each list's legal effect from the store's passages (the reader's best sentence that names the list
    and says what it does), and the sentences that say a rule does not apply to it."""
    reader = get_reader(rb.embedder)
    out = []
    for lst in lists.values():
        short = re.sub(r"\s+list$", "", lst.name, flags=re.I)
        question = f"What does being on the {short} list mean for a company on it, what does it restrict?"
        cands = [e for e in _sentences(rb, subject, f"{short} list restricts prohibits companies on it effect")
                 if _names_list(e.text, lst) and _EFFECT.search(e.text) and _only_list(e.text, lst)
                 and not names_any(e.text, [p for p in lst.parties if p != subject.entity] + subject.names)]
        rule = ListRule(lst)
        if cands:
            scores = reader.score(question, [Candidate(e.text, e.result.doc_type or "article") for e in cands])
            ranked = sorted(range(len(cands)), key=lambda i: -scores[i])
            # the best of the reader's first three that says what kind of effect the list has
            best = next((i for i in ranked[:3] if effect_kind(cands[i].text) != "other"), ranked[0])
            rule.effect, rule.kind = cands[best], effect_kind(cands[best].text)
        for e in _sentences(rb, subject, f"rule does not apply to {short} list"):
            m = _RULE.search(e.text)
            if m and _DOES_NOT_APPLY.search(e.text) and _names_list(e.text, lst):
                rule.not_applicable.append((fold(m.group(1)), e))
        out.append(rule)
    return out


def rule_sentence(rb, subject: Subject, rules: list[ListRule]) -> Evidence | None:
    """The 50 percent rule as the store states it, for a blocking list it is not said not to apply to
    (None when no list concerned blocks, or the sources say the rule does not apply to each that does)."""
    applies = [r for r in rules if r.kind == "blocking"
               and not any("50" in rule for rule, _ in r.not_applicable)]
    if not applies:
        return None
    cands = [e for e in _sentences(rb, subject, "50 percent rule entities owned by blocked persons are blocked", k=6)
             if re.search(r"50\s*(?:percent|%)", e.text) and not _DOES_NOT_APPLY.search(e.text)]
    if not cands:
        return None
    scores = get_reader(rb.embedder).score("What is the 50 percent rule?", [Candidate(e.text) for e in cands])
    return cands[max(range(len(cands)), key=lambda i: scores[i])]
