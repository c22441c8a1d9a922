"""A part of a question as the object of "the sources do not say" ("whether the NS-CMIC listing freezes
SenseTime's assets", "when Tuniyaz was sanctioned"): the question's own words in statement order, so a
refusal says what was asked, never an internal field name."""
from __future__ import annotations

import re

_AUX = re.compile(r"^\s*(is|are|was|were|has|have|had|does|do|did|can|could|will|would|should|may|might|must)\b",
                  re.I)


# --- the sources do not say <what was asked> -----------------------------------------------------------

_NOUNISH = re.compile(r"(?:ing|ion|ions|ncy|ncies|ment|ments|ship|ance|ence|ity|ure|ies|ers|or|ist|list|assets?|"
                      r"entry|entries|fund|bank|company|firm|group|unit|order|rule|regulation)$", re.I)
_PREP = {"of", "between", "in", "on", "for", "from", "by", "to", "with", "under", "at", "and", "as", "since",
         "during", "before", "after", "about", "into", "over"}
_DET = {"the", "a", "an", "this", "that", "these", "those", "its", "their", "his", "her", "any", "all"}
_ADVERB = {"still", "ever", "already", "also", "now", "currently", "really", "actually", "not", "never"}
_IRREGULAR = {"pay": "paid", "make": "made", "buy": "bought", "sell": "sold", "give": "gave", "take": "took",
              "get": "got", "say": "said", "send": "sent", "win": "won", "do": "did", "have": "had", "go": "went",
              "put": "put", "set": "set", "lead": "led", "hold": "held", "run": "ran", "know": "knew", "see": "saw",
              "find": "found", "become": "became", "begin": "began", "bring": "brought", "build": "built",
              "freeze": "froze", "tell": "told", "write": "wrote", "meet": "met", "leave": "left", "keep": "kept"}
_PARTICIPLE = re.compile(r"^(?:\w+(?:ed|en)|born|made|paid|sold|held|put|set|known|seen|done|led|kept|sent|"
                         r"found|given|taken|frozen|built|brought|told|written|left)$", re.I)


def _subject_end(words: list[str]) -> int:
    """Where the subject of a do-question ends ("the NS-CMIC listing | freeze ...", "Corvane Shipping |
    pay", "the Entity List rule of 9 April 2021 | add", "a US person | not do"), read without a tagger:
    determiners, names, numbers and nouns, a preposition that leads to more of them, then the verb. A word
    followed by a determiner is the verb ("BIS | list the two entities")."""
    i = 0
    while i < len(words):
        bare = words[i].strip(",'\"?")
        after = words[i + 1].strip(",'\"?") if i + 1 < len(words) else ""
        if i > 0 and bare[:1].islower() and after.lower() in _DET:
            break
        if i > 0 and bare.lower() in _PREP - {"and"} and (after[:1].isupper() or after[:1].isdigit()
                                                          or after.lower() in _DET):
            i += 1
            continue
        if (bare.lower() in _DET or bare[:1].isupper() or "'" in words[i] or any(c.isdigit() for c in bare)
                or "-" in bare or (i > 0 and _NOUNISH.search(bare)) or i == 0
                or (i > 0 and after.lower() in ("not", "never"))):
            i += 1
            continue
        break
    return i


def _third_person(verb: str) -> str:
    if re.search(r"(?:s|sh|ch|x|z|o)$", verb):
        return verb + "es"
    if re.search(r"[^aeiou]y$", verb):
        return verb[:-1] + "ies"
    return verb + "s"


def _past(verb: str) -> str:
    v = verb.lower()
    if v in _IRREGULAR:
        return _IRREGULAR[v]
    if v.endswith("e"):
        return verb + "d"
    if re.search(r"[^aeiou]y$", v):
        return verb[:-1] + "ied"
    return verb + "ed"


_AUX_WORDS = "is|are|was|were|has|have|had|does|do|did|can|could|will|would|should|may|might|must"
# A wh-question: the wh-phrase (a preposition may lead: "on what date"), its auxiliary, the rest.
_WH = re.compile(rf"^((?:(?:on|in|at|by|for|from|since|until|to|with|under|of) )?(?:how much|how many|what|which|who|"
                 rf"whom|whose|when|where|why|how)(?: (?!(?:{_AUX_WORDS})\b)[\w.'&-]+){{0,8}}?)\s+({_AUX_WORDS})\s+(.*)$",
                 re.I)
_MODAL = {"can", "could", "will", "would", "should", "may", "might", "must"}


def _statement(aux: str, rest: list[str], yes_no: bool) -> list[str]:
    """The words after the auxiliary put back in statement order."""
    if aux in _MODAL:  # "whether OFAC will remove Megvii", "on what date OFAC will remove Megvii"
        n = _subject_end(rest)
        return rest[:n] + [aux] + rest[n:]
    if aux in ("does", "do", "did"):
        n = _subject_end(rest)
        subject, tail = rest[:n], rest[n:]
        if tail:
            verb = tail[0].rstrip(",;:")
            form = _third_person if aux == "does" else _past if aux == "did" else str
            tail = [form(verb) + tail[0][len(verb):]] + tail[1:]
        return subject + tail
    # be, have, modals: the auxiliary goes before the participle ("when Tuniyaz was sanctioned"), or after
    # the subject of a yes/no question ("whether SenseTime is on an EU list"), or last ("what the boiling
    # point of mercury on Mars is").
    at = next((i for i, w in enumerate(rest) if i > 0 and _PARTICIPLE.match(w.strip(",?")) and w[:1].islower()
               and w.lower() not in _PREP | {"between", "even", "seven", "often", "when", "then", "than"}), None)
    if at is None and yes_no:
        at = next((i for i, w in enumerate(rest) if i > 0 and w.lower() in _PREP), None)
    if at is None:
        return rest + [aux]
    while at > 1 and rest[at - 1].lower() in _ADVERB:
        at -= 1
    return rest[:at] + [aux] + rest[at:]


def plain(asked: str) -> str:
    """What a part of a question asks, as the object of "the sources do not say": "whether the NS-CMIC
    listing freezes SenseTime's assets", "when Tuniyaz was sanctioned", "what penalty Corvane Shipping
    paid", "Wang Junzheng's place of birth"."""
    q = re.sub(r"\s+", " ", asked).strip(" ?.!,;")
    words = q.split()
    if not words:
        return "that"
    if m := _AUX.match(q):
        return "whether " + " ".join(_statement(m.group(1).lower(), words[1:], True))
    wh = _WH.match(q)
    if wh:
        head, aux, rest = wh.group(1), wh.group(2).lower(), wh.group(3).split()
        return " ".join([head[0].lower() + head[1:], *_statement(aux, rest, False)])
    if q.split()[0].lower() in ("who", "what", "which", "when", "where", "why", "how", "whose"):
        return q[0].lower() + q[1:]
    if q.split()[0].lower() in ("tell", "give", "show", "list", "find"):
        q = re.sub(r"^(?:tell|give|show|list|find)\s+(?:me|us)?\s*(?:about\s+)?", "", q, flags=re.I)
    return q
