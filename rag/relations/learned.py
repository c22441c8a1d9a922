"""A learned relation extractor: every pair of party mentions in a sentence, classified into a relation type
and direction (or none) by a linear model trained here, with whether the sentence says the relation ended.

Why learned: a phrase list written against one corpus ("X is a wholly owned subsidiary of Y") misses how
others write the same fact ("Y's foreign currency arm, X", "X and its CEO Z", "acted for or on behalf of
X"). The model sees, for each ordered pair of mentions, the words between them (other mentions replaced by
ENT, places by PLACE; again without a comma-set description of the first), the words just before the first
and after the second, the punctuation that joins them, and whether each looks like a person, an
organisation or a place; a multinomial logistic regression (scikit-learn) maps that to
"ownership:ab" (the first mention owns the second), "ownership:ba", "director:ab", ..., or "none". Its
weights are a small file shipped in the package (data/model.npz), rebuilt by
`python -m rag.relations.extract train` from:
- eval/datasets/relations/dev.jsonl (real public sentences marked by hand; held_out.jsonl is never read
  here),
- data/own_words.jsonl and data/templates.py (sentences written for this purpose, with fictitious parties).
It states a relation only when its probability reaches THRESHOLD (precision first: see there), the
relations the two parties' kinds rule out (a company heads no one, a person is owned by no one: fits_kinds) taken
away first.

Relations are oriented as the store keeps them: ownership's subject is the owner, director's the person,
supplier's the supplier (a customer relation is a supplier relation read from the other side),
representative's the agent. Status is "ended" when the words around the pair say the relation no longer
holds (sold, divested, former, no longer, until ...), else "stated".
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rag.entities.names import Mention, is_place, mentions, normalise

DATA = Path(__file__).parent / "data"
MODEL_PATH = DATA / "model.npz"
SYMMETRIC = {"partner", "family", "associate"}
LABELS = ("ownership", "director", "supplier", "representative", "partner", "family", "associate", "member",
          "employee")

# --------------------------------------------------------------------------- party mentions

_TITLES = re.compile(r"^(?:Board\s+of\s+Directors\s+of\s+|(?:CEO|CFO|COO|Chairman|Chairwoman|Chair|President|Director|General|Managing|"
                     r"Deputy|Chief|Executive|Officer|Founder|Official|Minister|Secretary|Mr|Mrs|Ms|Dr|"
                     r"Commander|Governor|Senator)\.?\s+)+")
_NATIONALITY = re.compile(r"^[A-Z][a-z]+(?:ian|ese|ish|i|an|ic)$")
_LEGAL_END = re.compile(r"\b(?:Ltd|Limited|LLC|Inc|Corp|Corporation|Co|Company|PLC|plc|JSC|PJSC|SA|S\.A|AG|GmbH|"
                        r"FZE|FZCO|SRL|AB|Oy|BV|NV|Group|Holdings|Industries|Logistics)\.?$")
_ORG_WORDS = re.compile(r"\b(?:Ltd|Limited|LLC|Inc|Corp|Corporation|Co|Company|PLC|plc|JSC|PJSC|SA|AG|GmbH|FZE|"
                        r"SRL|AB|Oy|Group|Holdings|Industries|Bank|Ministry|Department|Office|Bureau|Agency|"
                        r"Council|Corps|Force|Network|Foundation|Trading|Shipping|Lines|Exchange|Systems|"
                        r"Technology|Technologies|Electronics|Capital|Energy|Government|Authority|Organization|"
                        r"Organisation|Plant|Works|Fund|Partners|Analytics|Optics|Sensors|Robotics|Motors|"
                        r"Logistics|Freight|Services|University|Institute|Commission|Committee|Association|"
                        r"Vision|Computer|Computing|Industrial|International|Global|Supply|Engineering|Equipment|Pay|Payments|Labs?|Cloud|Retail|Software|Digital|Networks?|"
                        r"Media|Airlines?|Airways|Aerospace|Aviation|Power|Machinery|Petroleum|Oil|Gas|Steel|"
                        r"Metals|Chemicals?|Pharma|Semiconductors?|Devices|Solutions|Trade|Marine|Mining|"
                        r"Telecom|Communications|Engineering|Construction|Motors|Automotive|Insurance|"
                        r"Securities|Investments?|Ventures|Center|Centre|Forces?|Army|Navy|Guard)\b")


# Capitalised words that name a role, a list or a legal instrument, never a party.
_ROLE = (r"(?:Vice|Deputy|Chief|Executive|Managing|General|Commercial|Financial|Finance|Technical|Senior|Acting|"
         r"Former|Board|Directors?|Chairman|Chairwoman|Chair|President|Officer|CEO|CFO|COO|Founder|Head|Manager|"
         r"Secretary|Minister|Spokesperson|Owner|Partner|Member)")
_NOT_PARTY = re.compile(rf"(?:{_ROLE}(?:\s+(?:of\s+)?{_ROLE})*|SDNs?|SDGTs?|EAR|E\.?O|EO|IFR|CFR|ECCN|UAVs?|LLC|"
                        r"U\.?S|UN|EU|IMO|Entity\s+List|SDN\s+List)\.?")


# A place written as a modifier of the name that follows ("Hong Kong-based X", "the Panama-flagged vessel Y").
_MODIFIER = re.compile(r"-(?:based|flagged|registered|headquartered|origin)\b")


@dataclass
class Party:
    text: str
    start: int
    end: int
    acronym: str | None = None


def _initials(words: list[str]) -> set[str]:
    full = "".join(w[0] for w in words if w[:1].isalpha()).upper()
    content = "".join(w[0] for w in words if w[:1].isupper()).upper()
    return {full, content}


def party_mentions(sentence: str) -> list[Party]:
    """The parties a sentence names: capitalised names (rag.entities.names.mentions) with titles before a
    person's name dropped ("CEO Javad ..."), nationality adjectives dropped unless they name a government
    ("Russian government"), and two names joined by "and" kept as one where the second ends in a legal form
    or the acronym after it spells both ("Ministry of Defense and Armed Forces Logistics (MODAFL)")."""
    out: list[Party] = []
    found: list[Mention] = []
    for m in mentions(sentence):
        # "Argent Trading LLC and Pinnacle Bank": a name that ends in a legal form ends there.
        cut = re.search(r"\b(?:Ltd|Limited|LLC|Inc|Corp|Co|PLC|plc|JSC|PJSC|SA|AG|GmbH|FZE|SRL)\.?,?\s+(?:and|&)\s+(?=[A-Z])",
                        m.text)
        if cut and not m.acronym:
            left = m.text[:cut.start()] + m.text[cut.start():cut.end()].split()[0].rstrip(",")
            found.append(Mention(left, m.start, m.start + len(left), m.start + len(left)))
            rs = m.start + cut.end()
            found.append(Mention(m.text[cut.end():], rs, m.end, m.after, m.acronym))
        else:
            found.append(m)
    for m in found:
        text, start = m.text, m.start
        if t := _TITLES.match(text):
            rest = text[t.end():]
            if len(text) > t.end() and not (" " not in rest and common_word(rest)) \
                    and not _INSTITUTION_HEAD.search(rest.split()[0]):  # "General Staff", "General Directorate of ..."
                start, text = start + t.end(), text[t.end():]
                if of := re.match(r"of\s+(?:the\s+)?(?=[A-Z])", text):  # "Director of EKT": the organisation
                    start, text = start + of.end(), text[of.end():]
        gov = re.match(r"\s+(?:government|Government|state|authorities|military|regime)\b", sentence[m.end:])
        if gov:
            text, m_end = sentence[start:m.end + gov.end()], m.end + gov.end()
        else:
            m_end = m.end
            if _NATIONALITY.match(text) and " " not in text and not m.acronym \
                    and re.match(r" [a-z]", sentence[m.end:m.end + 2]):
                continue  # "Iranian entities", "Russian national"
        if _NOT_PARTY.fullmatch(text):
            continue  # "Vice Chairman", "Commercial Director", "SDN", "E.O"
        if _MODIFIER.search(text) or _MODIFIER.match(sentence[m_end:m_end + 20]):
            continue  # "China-based", "Marshall Islands-flagged": where a party is, not a party
        if digits := re.search(r"\b\d+-$", sentence[max(0, start - 6):start]):  # "3-G Mermet"
            start, text = start - len(digits.group()), digits.group() + text
        if (of := re.search(r"\s+of\s+(?:the\s+)?([A-Z][\w ]+)$", text)) and is_place(of.group(1)) \
                and (_LEGAL_END.search(head := text[:of.start()]) or not (
                    _INSTITUTION_HEAD.search(head) or (" " not in head and common_word(head)))):
            # "Mermet S.A. of France", "Skyra of Istanbul": the company, then where ("Bank of China" stays whole)
            text, m_end = head, start + of.start()
        p = Party(text, start, m_end, m.acronym)
        if out and re.fullmatch(r"\s+(?:and|&)\s+", sentence[out[-1].end:p.start]) and not out[-1].acronym:
            prev = out[-1]
            merged = sentence[prev.start:p.end]
            words = merged.split()
            if (_LEGAL_END.search(p.text) and not _LEGAL_END.search(prev.text) and len(p.text.split()) > 1
                    and len(prev.text.split()) > 1 and not _whole_org(prev.text)) \
                    or (p.acronym and p.acronym.upper() in _initials(words)):
                # "Global Industrial and Engineering Supply Ltd." is one company; "Halden Energy and Xinjiang Oil
                # Group" are two (a name that already ends in a noun of organisations is complete)
                out[-1] = Party(merged, prev.start, p.end, p.acronym)
                continue
            if re.search(rf"\b{_INSTITUTION_HEAD.pattern[:-1]}\s+of\s+[A-Z]\w+$", prev.text) \
                    and len(p.text.split()) <= 3 and all(common_word(w) for w in p.text.split()):
                out[-1] = Party(merged, prev.start, p.end, p.acronym)  # "Department of Health and Human Services"
                continue
        out.append(p)
    # "(ACRONYM)" defined in the sentence: later bare uses are mentions too (mentions() finds them already).
    out = _split_person_and_org(sentence, _join_particles(sentence, _join_peoples(sentence, out)))
    out = [p for p in out if not _function_word(p)]
    out = _area_titles(sentence, _split_title_names(sentence, _join_of_the(sentence, _join_slash(sentence, out))))
    return _without_instruments(sentence, out)


# The last word of the name of a law, rule or form, which is no party ("Arms Export Control Act", "Export Administration
# Regulations", "Shipper's Export Declaration").
_INSTRUMENT = re.compile(r"(?:Act|Acts|Regulations?|Declaration|Rules?|Directive|Resolution|Treaty|Convention|"
                         r"Memorandum|Executive\s+Order)$")


def _without_instruments(sentence: str, parties: list[Party]) -> list[Party]:
    """The parties less the names of laws, rules and forms, and less the name that opens one through a possessive
    ("Countering America" of "Countering America's Adversaries Through Sanctions Act")."""
    out: list[Party] = []
    for p in parties:
        if _INSTRUMENT.search(p.text):
            if out and re.fullmatch(r"['’]s\s+", sentence[out[-1].end:p.start]):
                out.pop()
            continue
        out.append(p)
    return out


@lru_cache(maxsize=1)
def _vocabulary() -> frozenset[str]:
    """The word list of the embedding model the project ships (all-MiniLM-L6-v2's vocab.txt): common English
    words, and first names, are whole entries; surnames and company coinages mostly are not."""
    from rag.embeddings import default_model_path

    path = Path(default_model_path()) / "vocab.txt"
    return frozenset(w for w in path.read_text(encoding="utf-8").split() if w.isalpha()) if path.exists() else frozenset()


def common_word(word: str) -> bool:
    """A word of everyday English ("Security", "Services", "Staff"), not a coinage or surname ("Rostec",
    "Estevez")."""
    return word.lower() in _vocabulary()


# "Under Secretary of Commerce for Industry and Security Alan Estevez", "Commerce Acting Assistant Secretary for
# Export Enforcement Frank Deliberti": a title, the institution (before the title or after its "of"), the area
# after "for", then the person.
_RANK = r"(?:Deputy|Under|Assistant|Acting|Principal|Associate|Vice)"
_AREA_TITLE = re.compile(rf"(?:\b(?!{_RANK}\b)([A-Z][a-z]+)\s+)?(?:{_RANK}\s+)*"
                         r"(?:Secretary|Administrator|Director|Commissioner|Minister)"
                         r"(?:\s+of\s+(?:the\s+)?([A-Z][a-z]+))?\s+for\s+"
                         r"((?:[A-Z](?:\.|[\w'’-]*)|and|of|the)(?:\s+(?:[A-Z](?:\.|[\w'’-]*)|and|of|the))*)")


def _person_tail(words: list[str]) -> int:
    """Where a person's name starts at the end of "<area words> <name>": leading words of everyday English are the
    area's, as long as two words remain and the next is not an initial ("Thea D. Rozman Kendler")."""
    k = 0
    while len(words) - k > 2 and (common_word(words[k]) or words[k] in ("and", "of", "the")) \
            and not re.fullmatch(r"[A-Z]\.", words[k + 1]):
        k += 1
    if len(words) - k == 2 and words[k] in ("and", "of", "the"):
        k += 1
    return k


def _area_titles(sentence: str, parties: list[Party]) -> list[Party]:
    """Parties inside an official's title with an area ("... Secretary of Commerce for Export Administration Thea
    D. Rozman Kendler") replaced by the institution, when the title names one, and the person."""
    for t in _AREA_TITLE.finditer(sentence):
        tail = t.group(3)
        words = tail.split()
        k = _person_tail(words)
        if len(words) - k < 2 or _kind(" ".join(words[k:])) != "person":
            continue
        person_start = t.start(3) + len(" ".join(words[:k])) + (1 if k else 0)
        new = []
        org = 1 if t.group(1) and not _function_word(Party(t.group(1), 0, 0)) else 2 if t.group(2) else 0
        if org:
            new.append(Party(t.group(org), t.start(org), t.end(org)))
        new.append(Party(sentence[person_start:t.end(3)], person_start, t.end(3)))
        kept = [p for p in parties if p.end <= t.start() or p.start >= t.end()]
        parties = sorted(kept + new, key=lambda p: p.start)
    return parties


# Words that open a sentence or a clause to order or join what follows ("Second, the Secretary ..."): capitalised
# for standing first, never a party.
_DISCOURSE = frozenset("first second third fourth fifth finally additionally separately specifically today "
                       "meanwhile moreover furthermore previously currently".split())


def _function_word(p: Party) -> bool:
    """"Among", "Our", "Under", "Second": a sentence's first word, capitalised only for standing first, is no
    party."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return " " not in p.text and not p.acronym and (p.text.lower() in ENGLISH_STOP_WORDS
                                                    or p.text.lower() in _DISCOURSE)


def _join_peoples(sentence: str, parties: list[Party]) -> list[Party]:
    """"People's Republic of China", "People's Bank of China": "People's" opens a state body's name, it does not
    make the next name a possession of a party called "People" (mentions() cuts at the possessive)."""
    out: list[Party] = []
    for p in parties:
        prev = out[-1] if out else None
        if prev and prev.text.split()[-1] == "People" and re.fullmatch(r"['’]s\s+", sentence[prev.end:p.start]):
            out[-1] = Party(sentence[prev.start:p.end], prev.start, p.end, p.acronym)
            continue
        out.append(p)
    return out


def _whole_org(text: str) -> bool:
    """A multi-word name that already ends in a noun of organisations ("Halden Energy", "Pinnacle Bank"), not in an
    adjective ("Global Industrial", "... International") that a longer name goes on from."""
    words = text.split()
    return len(words) > 1 and bool(_ORG_WORDS.fullmatch(words[-1])) and not words[-1].endswith("al")


def _join_particles(sentence: str, parties: list[Party]) -> list[Party]:
    """"Abu Mohammed al-Adnani", "Bilad al-Rafidayn Office": a lower-case particle of an Arabic name ("al-", "el-",
    "bin", "ibn") joins the capitalised pieces around it into one name (mentions() cuts at lower case)."""
    out: list[Party] = []
    for p in parties:
        if out and re.fullmatch(r"\s+(?:al|el|ad|ar|as|ash|at|az)-|\s+(?:bin|ibn|bint)\s+", sentence[out[-1].end:p.start]) \
                and not out[-1].acronym:
            prev = out.pop()
            p = Party(sentence[prev.start:p.end], prev.start, p.end, p.acronym)
        out.append(p)
    return out


def _split_person_and_org(sentence: str, parties: list[Party]) -> list[Party]:
    """"Oleg Deripaska and Basic Element Limited": a person's name and an organisation's joined by "and" are two
    parties (a name of two organisational halves, "Ministry of Defense and Armed Forces Logistics", stays one)."""
    out: list[Party] = []
    for p in parties:
        cut = re.search(r"\s+(?:and|&)\s+", p.text)
        left = p.text[:cut.start()] if cut else ""
        right = p.text[cut.end():] if cut else ""
        if cut and ((_kind(left) == "person" and _kind(right) in ("org", "person"))
                    or (" " not in left and not common_word(left) and not p.acronym and _kind(right) == "org")
                    or (_whole_org(left) and _kind(right) == "org" and not p.acronym)):
            # "Oleg Deripaska and Basic Element Limited", "Zentro and Pinnacle Bank": two parties
            out.append(Party(left, p.start, p.start + len(left)))
            out.append(Party(p.text[cut.end():], p.start + cut.end(), p.end, p.acronym))
        else:
            out.append(p)
    return out


_INSTITUTION_HEAD = re.compile(r"(?:Department|Ministry|Office|Bureau|Secretary|Minister|Bank|Government|Council|"
                               r"Commission|Agency|Board|Court|Institute|Academy|University|Directorate|Service|"
                               r"Administration|Authority|Committee|Command|Organization|Organisation|Corporation|"
                               r"Republic|Federation|Union|Assembly|Center|Centre)$")


def _join_slash(sentence: str, parties: list[Party]) -> list[Party]:
    """"B/E Aerospace", "AT/T", "EN+ Group": two capitalised pieces joined by a slash or a plus are one name."""
    out: list[Party] = []
    for p in parties:
        if out and re.fullmatch(r"/|\+\s?", sentence[out[-1].end:p.start]) and not out[-1].acronym:
            prev = out.pop()
            p = Party(sentence[prev.start:p.end], prev.start, p.end, p.acronym)
        out.append(p)
    return out


def _join_of_the(sentence: str, parties: list[Party]) -> list[Party]:
    """"Department of the Treasury", "Bank of the Ryukyus": an institution's head word, "of the" and a
    capitalised name are one name (mentions() stops at the lower-case "the")."""
    out: list[Party] = []
    for p in parties:
        if out and re.fullmatch(r"\s+of\s+the\s+", sentence[out[-1].end:p.start]) and not out[-1].acronym \
                and _INSTITUTION_HEAD.search(out[-1].text):
            prev = out.pop()
            p = Party(sentence[prev.start:p.end], prev.start, p.end, p.acronym)
        out.append(p)
    return out


_TITLE_OF = re.compile(r"(?:Secretary|Minister|Governor|Commissioner|Administrator|Counsel|Attorney)\s+of(?:\s+the)?\s+$",
                       re.I)


_INNER_TITLE = re.compile(r"^(.+?)\s+(?:(?:Deputy|Under|Assistant|Acting|Vice|Executive|Chief|General|Managing)\s+)*"
                          r"(?:Secretary|Minister|CEO|CFO|Chairman|Chairwoman|Director|President|Spokesperson|"
                          r"Governor|Commander|Chief)\s+(.+)$")


# A title that names its institution after "of", inside one capitalised run: "U.S. Secretary of State Antony Blinken",
# "Minister of Defence Ivan Petrov".
_TITLE_OF_INSTITUTION = re.compile(r"^(?:\S+\s+)*?(?:(?:Deputy|Under|Assistant|Acting|Vice)\s+)*"
                                   r"(?:Secretary|Minister|Governor|Commissioner|Administrator)\s+of\s+(?:the\s+)?"
                                   r"([A-Z][a-z]+)\s+([A-Z].+)$")


def _split_title_names(sentence: str, parties: list[Party]) -> list[Party]:
    """"Deputy Secretary of the Treasury Wally Adeyemo": after a title "of (the)", a single-word institution
    followed by a person's name is two parties, the institution and the person."""
    out: list[Party] = []
    for p in parties:
        of_inst = _TITLE_OF_INSTITUTION.match(p.text)
        if of_inst and _kind(of_inst.group(2)) == "person":
            # "U.S. Secretary of State Antony Blinken": the institution after "of", then the person.
            out.append(Party(of_inst.group(1), p.start + of_inst.start(1), p.start + of_inst.end(1)))
            out.append(Party(of_inst.group(2), p.start + of_inst.start(2), p.end, p.acronym))
            continue
        inner = _INNER_TITLE.match(p.text)
        if inner and _kind(inner.group(2)) == "person":
            # "Treasury Secretary Steven Mnuchin", "Rostec CEO Sergey Chemezov": the institution, then the person.
            out.append(Party(inner.group(1), p.start, p.start + len(inner.group(1))))
            out.append(Party(inner.group(2), p.start + inner.start(2), p.end, p.acronym))
            continue
        words = p.text.split()
        if len(words) >= 3 and _TITLE_OF.search(sentence[max(0, p.start - 40):p.start]) \
                and _kind(" ".join(words[1:])) == "person":
            first = words[0]
            rest = p.start + p.text.index(words[1], len(first))
            out.append(Party(first, p.start, p.start + len(first)))
            out.append(Party(sentence[rest:p.end], rest, p.end, p.acronym))
            continue
        out.append(p)
    return out


def _kind(text: str) -> str:
    if _ORG_WORDS.search(text) or normalise(text, False).legal:
        return "org"
    words = text.split()
    if text.isupper() and len(text) <= 8:
        return "acronym"
    if 2 <= len(words) <= 4 and all(w[:1].isupper() and (w.replace("-", "").isalpha() or re.fullmatch(r"[A-Z]\.", w))
                                    for w in words) and not _unlike_person(words):
        return "person"
    return "single" if len(words) == 1 else "other"


def _unlike_person(words: list[str]) -> bool:
    """Capitalised words that look like a person's name but are not: a name in capitals ("NORTHERN DAWN", a vessel) or
    one that ends in a word of everyday English that is no known name ("Public Designations Unit", "Russian Machines";
    "John Smith" keeps his name: rigour knows Smith as one)."""
    if all(w.isupper() and len(w) > 1 for w in words):
        return True
    last = words[-1]
    return common_word(last) and not _known_name(last)


@lru_cache(maxsize=8192)
def _known_name(word: str) -> bool:
    """Does rigour's name data know this word as a given or family name (of any language)?"""
    from rigour.names import NameTypeTag, SymbolCategory, analyze_names

    return any(s.symbol.category == SymbolCategory.NAME for n in analyze_names(NameTypeTag.PER, [word]) for s in n.spans)


# --------------------------------------------------------------------------- features

_TOKEN = re.compile(r"[A-Za-z]+(?:['’][a-z]+)?|\d+(?:[.,]\d+)?|[%$,;:()\-–—]|['’]s?")


def _tokens(text: str) -> list[str]:
    out = []
    for t in _TOKEN.findall(text):
        t = t.lower().replace("’", "'")
        if t[0].isdigit():
            t = "NUM"
        out.append(t)
    return out


_ASIDE = re.compile(r"^\s*,\s*(?:a|an|the|which|who|whose|one|based|located|itself)\b[^,;]*,")


def _masked(sentence: str, a: int, b: int, parties: list[Party], skip_aside: bool = False) -> str:
    """sentence[a:b] with the parties inside replaced by ENT (a place by PLACE); with `skip_aside`, without a
    comma-delimited description that opens it (", a Chinese national,", ", which has addresses in China,")."""
    if skip_aside and (aside := _ASIDE.match(sentence[a:b])) and aside.end() < b - a:
        a += aside.end()
    out, pos = [], a
    for p in parties:
        if p.start >= a and p.end <= b:
            out.append(sentence[pos:p.start])
            out.append(" PLACE " if is_place(p.text) else " ENT ")
            pos = p.end
    out.append(sentence[pos:b])
    return "".join(out)


_ENDED = re.compile(r"\b(?:sold|sells\s+(?:its|their|his|her)|divest(?:ed|s)?|dispos(?:ed|es)\s+of|no\s+longer|"
                    r"former(?:ly)?|previously|until|ended|exited|stopped|ceased|transferred|relinquished|"
                    r"spun\s+off|left)\b", re.I)
NEGATED = re.compile(r"\b(?:not|never|denied|denies|deny|neither|nor)\b|n['’]t\b", re.I)


# Qualifiers that US sanctions and export-control notices put inside the phrase that states a relation ("owned or
# controlled by, directly or indirectly, X"; "acted or purported to act for or on behalf of X"): they say nothing
# about which relation it is, and dropped they leave the phrase as other texts write it.
_QUALIFIER = re.compile(r",?\s*\b(?:directly\s+or\s+indirectly|individually\s+or\s+in\s+the\s+aggregate|"
                        r"or\s+(?:has\s+)?purport(?:ed|ing|s)?\s+to\s+act|or\s+attempted\s+to\s+provide)\b,?", re.I)


def _coordinated(sentence: str, parties: list[Party]) -> list[int]:
    """For each party, the index of the first party of the coordinated list it stands in ("A, B, and C", "A and B",
    "A or B"), itself when it stands in none. A list needs a closing "and"/"or"; "A, B" alone is often A
    followed by a description of it."""
    group = list(range(len(parties)))
    k = 0
    while k < len(parties):
        end = k
        while end + 1 < len(parties):
            gap = sentence[parties[end].end:parties[end + 1].start]
            if re.fullmatch(r"\s*,\s*", gap) or re.fullmatch(r"\s*,?\s+(?:and|or|&)\s+", gap):
                end += 1
                if re.search(r"\b(?:and|or)\b|&", gap):
                    break
            else:
                break
        if end > k and re.search(r"\b(?:and|or)\b|&", sentence[parties[end - 1].end:parties[end].start]):
            for m in range(k, end + 1):
                group[m] = k
            k = end + 1
        else:
            k += 1
    return group


def representative_pair(sentence: str, parties: list[Party], i: int, j: int) -> tuple[int, int]:
    """The pair whose words decide how parties i and j (i before j) are related: when i stands in a coordinated
    list ("A, B, and C are owned by D"), the list's member nearest to j; when j does, the member nearest to i.
    What the sentence says of the nearest member it says of the whole list."""
    group = _coordinated(sentence, parties)
    if group[i] == group[j]:
        return i, j
    last_i = max(m for m in range(len(parties)) if group[m] == group[i])
    first_j = min(m for m in range(len(parties)) if group[m] == group[j])
    return last_i, first_j


def _stem(token: str) -> str:
    """A word without its common English endings ("owns", "owned", "owner" -> "own"; "supplies", "supplier" ->
    "suppl"), so that a form the training sentences lack still meets the weight its siblings learned."""
    for end in ("ership", "ing", "ies", "ied", "ier", "ers", "er", "ed", "es", "s", "y"):
        if len(token) > len(end) + 2 and token.endswith(end):
            return token[:-len(end)]
    return token


def pair_features(sentence: str, parties: list[Party], i: int, j: int) -> dict[str, float]:
    i, j = representative_pair(sentence, parties, i, j)
    a, b = parties[i], parties[j]
    between = _tokens(_QUALIFIER.sub(" ", _masked(sentence, a.end, b.start, parties)))
    before = _tokens(_masked(sentence, max(0, a.start - 60), a.start, parties))[-3:]
    after = _tokens(_masked(sentence, b.end, min(len(sentence), b.end + 60), parties))[:3]
    f: dict[str, float] = {}
    for t in between:
        f["b:" + t] = 1.0
        f["bs:" + _stem(t)] = 1.0
    for x, y in zip(between, between[1:]):
        f[f"b2:{x}_{y}"] = 1.0
    for x, y, z in zip(between, between[1:], between[2:]):
        f[f"b3:{x}_{y}_{z}"] = 1.0
    f["bfirst:" + (" ".join(between[:2]) or "EMPTY")] = 1.0
    f["blast:" + (" ".join(between[-2:]) or "EMPTY")] = 1.0
    if len(between) <= 6:
        f["bwhole:" + " ".join(between)] = 1.0
    n = len(between)
    f["len:" + ("0" if n == 0 else "1-3" if n <= 3 else "4-8" if n <= 8 else "9-15" if n <= 15 else "16+")] = 1.0
    ents = between.count("ent")
    f["ents:" + str(min(ents, 3))] = 1.0
    for t in before:
        f["l:" + t] = 1.0
    f["l1:" + (before[-1] if before else "START")] = 1.0
    for t in after:
        f["r:" + t] = 1.0
    f["r1:" + (after[0] if after else "END")] = 1.0
    if len(after) > 1:
        f["r2:" + "_".join(after[:2])] = 1.0
    # The words between with a description of the first party set off by commas left out ("X, a Y unit, offers ...",
    # "X, which has offices in Z, supplies ..."): what joins the two once the aside is skipped.
    core = _tokens(_QUALIFIER.sub(" ", _masked(sentence, a.end, b.start, parties, skip_aside=True)))
    for t in core:
        f["c:" + _stem(t)] = 1.0
    f["cfirst:" + (" ".join(core[:2]) or "EMPTY")] = 1.0
    if len(core) <= 6:
        f["cwhole:" + " ".join(core)] = 1.0
    ka, kb = ("place" if is_place(p.text) else _kind(p.text) for p in (a, b))
    f[f"kinds:{ka}_{kb}"] = 1.0
    f["places_between:" + str(min(between.count("place"), 2))] = 1.0
    f["ka:" + ka] = 1.0
    f["kb:" + kb] = 1.0
    # "X is Y's accountant": the noun after the second party's possessive names the role.
    if poss := re.match(r"['’]s?\s+(?:[a-z-]+\s+)?([a-z]+)", sentence[b.end:b.end + 40]):
        f["poss:" + poss.group(1)] = 1.0
        f["posss:" + _stem(poss.group(1))] = 1.0
    # "A is the director of B, and C ...": a clause boundary between the two rarely joins them in one relation.
    if re.search(r"[,;]\s+(?:and|but|while|whereas)\s|;", sentence[a.end:b.start]):
        f["clause_break"] = 1.0
    if NEGATED.search(sentence[a.end:b.start]):
        f["negated"] = 1.0
    if _ENDED.search(sentence[a.end:b.start]):
        f["ended_between"] = 1.0
    return f


# The stretches of a sentence the model embeds for a pair of parties: "window", from a few words before the first
# party to a few after the second; "between", from the first party to the second; "sentence", all of it.
VIEWS = ("window",)


def pair_text(sentence: str, parties: list[Party], i: int, j: int, view: str = "window") -> str:
    """A stretch of the sentence (`view`, see VIEWS) with the two parties written as stand-in names (a person as
    "Alice"/"Bob", else "Acme"/"Zenith") and the other parties as "Other": what the sentence embedding sees, so
    that it reads how the two are related, not who they are."""
    i, j = representative_pair(sentence, parties, i, j)
    a, b = parties[i], parties[j]
    if view == "between":
        lo, hi = a.start, b.end
    elif view == "sentence":
        lo, hi = 0, len(sentence)
    else:
        lo = sentence.rfind(" ", 0, a.start - 25) + 1 if a.start > 40 else 0
        hi = min(len(sentence), b.end + 50)
    out, pos = [], lo
    for k, p in enumerate(parties):
        if p.start < lo or p.end > hi:
            continue
        out.append(sentence[pos:p.start])
        if k == i:
            out.append("Alice" if _kind(p.text) == "person" else "Acme")
        elif k == j:
            out.append("Bob" if _kind(p.text) == "person" else "Zenith")
        else:
            out.append("Other")
        pos = p.end
    out.append(sentence[pos:hi])
    return " ".join("".join(out).split())


def _embed(texts: list[str]):
    from rag.embeddings import get_embedder

    return get_embedder().encode(texts) if texts else None


# --------------------------------------------------------------------------- the model

@dataclass
class Found:
    relation: str
    subject: Party
    object: Party
    score: float
    status: str  # "stated" | "ended"


class Model:
    """Weights over the sparse pair features (`vocab`) followed by `dims` weights over the sentence embeddings of
    the pair's texts, one per view in `views` (dims 0: no embedding part)."""

    def __init__(self, vocab: list[str], classes: list[str], coef, intercept, threshold: float, dims: int = 0,
                 views: tuple[str, ...] = ("window",)):
        import numpy as np

        self.index = {v: k for k, v in enumerate(vocab)}
        self.vocab = vocab
        self.classes = classes
        self.coef = np.asarray(coef, dtype="float32")
        self.intercept = np.asarray(intercept, dtype="float32")
        self.threshold = threshold
        self.dims = dims
        self.views = tuple(views)

    def probabilities(self, feats: list[dict[str, float]], texts: list[tuple[str, ...]] | None = None, vectors=None):
        import numpy as np

        x = np.zeros((len(feats), len(self.vocab) + self.dims), dtype="float32")
        for r, f in enumerate(feats):
            for k, v in f.items():
                if (c := self.index.get(k)) is not None:
                    x[r, c] = v
        if self.dims:
            if vectors is None:
                vectors = _vectors(texts or [])
            x[:, len(self.vocab):] = np.asarray(vectors, dtype="float32") * EMB_WEIGHT
        z = x @ self.coef.T + self.intercept
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def save(self, path: Path) -> None:
        import numpy as np

        np.savez_compressed(path, vocab=np.array(self.vocab), classes=np.array(self.classes),
                            coef=self.coef.astype("float16"), intercept=self.intercept,
                            threshold=np.array([self.threshold], dtype="float32"), dims=np.array([self.dims]),
                            views=np.array(self.views))

    @classmethod
    def load(cls, path: Path) -> "Model":
        import numpy as np

        with np.load(path, allow_pickle=False) as z:
            return cls([str(v) for v in z["vocab"]], [str(c) for c in z["classes"]], z["coef"].astype("float32"),
                       z["intercept"], float(z["threshold"][0]), int(z["dims"][0]),
                       tuple(str(v) for v in z["views"]) if "views" in z.files else ("window",))


@lru_cache(maxsize=1)
def model() -> Model | None:
    """The shipped model, or None when it has not been built (`python -m rag.relations.extract train`)."""
    return Model.load(MODEL_PATH) if MODEL_PATH.exists() else None


def status_of(sentence: str, subject: Party, object_: Party) -> str:
    """"ended" when the words joining the two parties (or just around them) say the relation no longer
    holds: "sold its stake in", "a former subsidiary of", "no longer holds", "acquired ... from Y" (Y's
    ownership ended), "until 2020"."""
    first, second = sorted((subject, object_), key=lambda p: p.start)
    between = sentence[first.end:second.start]
    around = sentence[max(0, first.start - 30):first.start] + " " + sentence[second.end:second.end + 40]
    if _ENDED.search(between) or re.search(r"\b(?:former(?:ly)?|previously|until)\b", around, re.I):
        return "ended"
    # "Z acquired X from Y": the pair (X, Y) is Y's former holding.
    if re.search(r"\b(?:acquired|bought|purchased|took\s+over)\b", sentence[:first.start], re.I) \
            and re.match(r"\s*(?:,\s*)?from\b", between, re.I):
        return "ended"
    return "stated"


def extract(sentence: str, m: Model | None = None, threshold: float | None = None) -> list[Found]:
    """The relations the model finds between the parties a sentence names (at most one per pair)."""
    return extract_many([sentence], m, threshold)[0]


def extract_many(sentences: list[str], m: Model | None = None, threshold: float | None = None) -> list[list[Found]]:
    """`extract` for several sentences, their pairs embedded in one call (a document's sentences at ingest)."""
    m = m or model()
    out: list[list[Found]] = [[] for _ in sentences]
    if m is None:
        return out
    items = []  # (sentence index, parties, i, j)
    for n, sentence in enumerate(sentences):
        parties = party_mentions(sentence)
        items += [(n, parties, i, j) for i in range(len(parties)) for j in range(i + 1, len(parties))
                  if parties[i].end <= parties[j].start]
    if not items:
        return out
    probs = m.probabilities([pair_features(sentences[n], ps, i, j) for n, ps, i, j in items],
                            [tuple(pair_text(sentences[n], ps, i, j, v) for v in m.views) for n, ps, i, j in items]
                            if m.dims else None)
    cut = m.threshold if threshold is None else threshold
    none = m.classes.index("none")
    for (n, parties, i, j), p in zip(items, probs):
        sentence = sentences[n]
        p = _within_kinds(p, m.classes, *(party_kind(parties[k].text) for k in representative_pair(sentence, parties, i, j)))
        p[none] = -1.0
        k = int(p.argmax())  # the likeliest relation, taken when likely enough
        if p[k] < cut:
            continue
        relation, direction = m.classes[k].split(":")
        a, b = parties[i], parties[j]
        subj, obj = (a, b) if direction == "ab" else (b, a)
        if _same_party(subj.text, obj.text):
            continue
        if NEGATED.search(sentence[a.end:b.start]) and not _ENDED.search(sentence[a.end:b.start]):
            continue  # "X is not a supplier to Y", "X denied that it owns Y"
        out[n].append(Found(relation, subj, obj, float(p[k]), status_of(sentence, subj, obj)))
    return out


def party_kind(text: str) -> str:
    """"place", "person", "org", "acronym", "single" or "other" (see _kind)."""
    return "place" if is_place(text) else _kind(text)


# Which kinds of party can stand on each side of a relation: a place is no party (a country as a destination), save
# a state that owns a company; only persons head, work for or belong to an organisation, or are family or associates
# of each other; no person is headed, employed or owned. Kinds the mention alone cannot tell ("single", "other") fit
# anywhere.
_PERSONAL = {"director", "employee", "member"}


def fits_kinds(relation: str, subject: str, object_: str) -> bool:
    """May a party of kind `subject` stand in `relation` to one of kind `object_` (kinds as party_kind gives them)?"""
    if "place" in (subject, object_) and not (relation == "ownership" and object_ != "place"):
        return False
    if relation in _PERSONAL:
        return subject not in ("org", "acronym") and object_ != "person"
    if relation in ("family", "associate"):
        return not {subject, object_} & {"org", "acronym"}
    if relation == "ownership":
        return object_ != "person"
    return True


def _within_kinds(p, classes: list[str], ka: str, kb: str):
    """The class probabilities with the relations the two parties' kinds rule out taken away and the rest
    renormalised: P(class | a relation these kinds allow)."""
    p = p.copy()
    for k, c in enumerate(classes):
        if c != "none":
            relation, direction = c.split(":")
            if not (fits_kinds(relation, ka, kb) if direction == "ab" else fits_kinds(relation, kb, ka)):
                p[k] = 0.0
    total = p.sum()
    return p / total if total > 0 else p


def _same_party(x: str, y: str) -> bool:
    from rag.entities.names import name_key

    return name_key(x) == name_key(y)


# --------------------------------------------------------------------------- training

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT / "eval" / "datasets" / "relations" / "dev.jsonl"
OWN = DATA / "own_words.jsonl"


def read_marked(path: Path) -> list[dict]:
    """Sentences with the relations a person marked ({"sentence", "relations": [{"relation", "subject":
    [names], "object": [names], "status", ...}]}); a malformed line is an error naming the file and line."""
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            for r in row["relations"]:
                if r["relation"] not in LABELS and r["relation"] != "customer":
                    raise ValueError(f"unknown relation {r['relation']!r}")
                if not r["subject"] or not r["object"]:
                    raise ValueError("a relation without subject or object names")
            row["sentence"]
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path}:{n}: not a marked sentence: {e}") from e
        out.append(row)
    return out


def canonical(relation: str, subject: str, object_: str) -> tuple[str, str, str]:
    """One form per fact: a customer relation as the supplier's, symmetric relations in name order."""
    if relation == "customer":
        return "supplier", object_, subject
    if relation in SYMMETRIC and fold_name(object_) < fold_name(subject):
        return relation, object_, subject
    return relation, subject, object_


def fold_name(name: str) -> str:
    from rag.entities.names import fold

    n = fold(name)
    n = re.sub(r"\b(?:the|s)\b", " ", n)
    return " ".join(n.split())


def same_name(found: str, names: list[str]) -> bool:
    """Is a party as found the party a person marked under these names? Case, punctuation, a possessive,
    a leading "the" and the legal form are folded; a found name may add or drop a leading place or
    nationality word ("Iran's Ministry of Defence")."""
    from rag.entities.names import name_key

    f, fk = fold_name(found), name_key(found)
    for n in names:
        if f == fold_name(n) or (fk and fk == name_key(n)):
            return True
        nf = fold_name(n)
        if nf and (f.endswith(" " + nf) and len(f.split()) - len(nf.split()) == 1):
            return True
    return False


def _gold_label(gold: list[dict], a: Party, b: Party) -> str:
    for r in gold:
        rel = r["relation"]
        subj, obj = r["subject"], r["object"]
        if rel == "customer":
            rel, subj, obj = "supplier", obj, subj
        if same_name(a.text, subj) and same_name(b.text, obj):
            return f"{rel}:ab"
        if same_name(b.text, subj) and same_name(a.text, obj):
            return f"{rel}:{'ab' if rel in SYMMETRIC else 'ba'}"
    return "none"


def examples(rows: list[dict], views: tuple[str, ...] = VIEWS) -> tuple[list[dict], list[str], list[tuple[str, ...]]]:
    X, y, texts = [], [], []
    for row in rows:
        s = row["sentence"]
        parties = party_mentions(s)
        for i in range(len(parties)):
            for j in range(i + 1, len(parties)):
                if parties[i].end > parties[j].start:
                    continue
                X.append(pair_features(s, parties, i, j))
                y.append(_gold_label(row["relations"], parties[i], parties[j]))
                texts.append(tuple(pair_text(s, parties, i, j, v) for v in views))
    return X, y, texts


EMB_WEIGHT = 1.0
_VEC_CACHE: dict[str, object] = {}


def _vectors(texts: list[tuple[str, ...]]):
    """The embeddings of each item's texts side by side (one vector per view), each text embedded once."""
    import numpy as np

    todo = [t for t in dict.fromkeys(x for item in texts for x in item) if t not in _VEC_CACHE]
    if todo:
        for t, v in zip(todo, _embed(todo)):
            _VEC_CACHE[t] = v
    return np.asarray([np.concatenate([_VEC_CACHE[x] for x in item]) for item in texts], dtype="float32")


# Sentences marked by hand in real public text (rows with a "doc") weigh this many times a written or silver one:
# they are few, and they are how others write.
REAL_WEIGHT = 4.0

# A pair a person marked as related weighs this many times a pair with no relation: most pairs of names in a
# sentence are unrelated, and unweighted the model learns to call nearly everything "none".
POSITIVE_WEIGHT = 1.0


# The probability a relation needs before the model states it: of the thresholds at which the model's precision on
# dev documents it was not trained on (leave one document out) is at least 0.9, the one with the highest F1
# (bench/bench_relations.py: choose_threshold; `python -m bench relations --dev-only` prints the curve). A relation
# below it is left unsaid rather than said wrongly.
THRESHOLD = 0.6


def train(rows: list[dict], C: float = 1.0, threshold: float = THRESHOLD, embeddings: bool = True,
          class_weight: str | None = None, views: tuple[str, ...] = VIEWS,
          positive_weight: float = POSITIVE_WEIGHT) -> Model:
    import numpy as np
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    X, y, texts, weights = [], [], [], []
    for row in rows:
        x, labels, t = examples([row], views)
        X += x
        y += labels
        texts += t
        weights += [(REAL_WEIGHT if "doc" in row else 1.0) * (positive_weight if label != "none" else 1.0)
                    for label in labels]
    vec = DictVectorizer()
    Xm = vec.fit_transform(X)
    dims = 0
    if embeddings:
        E = _vectors(texts) * EMB_WEIGHT
        dims = E.shape[1]
        Xm = hstack([Xm, csr_matrix(E)]).tocsr()
    clf = LogisticRegression(C=C, max_iter=5000, class_weight=class_weight)
    with threadpool_limits(1):  # one thread: on a shared machine many BLAS threads make this fit many times slower
        clf.fit(Xm, y, sample_weight=np.asarray(weights))
    return Model(list(vec.get_feature_names_out()), [str(c) for c in clf.classes_], clf.coef_,
                 clf.intercept_, threshold, dims, views)


def training_rows() -> list[dict]:
    """Everything the model is trained on: the dev split and the own-words sentences and templates. Not the demo
    corpus marked by the phrase list: every pair the phrase list misses there ("a former Director of ...") would
    be taught as no relation."""
    from rag.relations.data.templates import sentences

    return read_marked(DEV) + read_marked(OWN) + sentences()


def build(path: Path = MODEL_PATH) -> Model:
    """Train on the dev split and the own-words sentences; write the weights."""
    m = train(training_rows())
    m.save(path)
    model.cache_clear()
    return m
