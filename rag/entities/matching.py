"""How alike two names are, and why: the scoring of screening (rag/entities/screen.py, steps 2 and 3 of its
docstring) over names made comparable by rag.entities.names.normalise, and the explanation a match carries.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from rapidfuzz.distance import OSA, Indel, Levenshtein
from rapidfuzz.process import cdist

from rag.core.models import ListEntry
from rag.entities.names import GENERIC, LEGAL_WORDS, Normalised, Part, is_place


def trigrams(tokens: list[str]) -> set[str]:
    out: set[str] = set()
    for t in tokens:
        padded = f" {t} "
        for i in range(len(padded) - 2):
            out.add(padded[i:i + 3])
    return out


def _sim(a: str, b: str) -> float:
    return Indel.normalized_similarity(a, b) if a and b else 0.0


@dataclass(slots=True)
class Comparison:
    score: float
    how: str  # "joined" | "word order" | "generic words" | "partial person name" | "short name" | "identifier"
    #          | "name parts" | "acronym"
    applied: list[str] = field(default_factory=list)
    explanation: str = ""
    name_score: float | None = None  # the name's score before what else the query says qualified it
    whole: tuple[float, str] | None = None  # the whole-name comparison's (score, how) it started from


INITIAL_SIM = 0.8  # an initial for the given name it starts
PHONETIC_SIM = 0.9  # two words of one sound (rigour's metaphone)
PHONETIC_SPELLING = 0.6  # ... when their spellings are at least this alike ("MIDEA" / "MAUTE" sound alike too)
SHORT_WORD_EDIT = 0.9  # more edits than a word of its length allows (as for whole names in _compare_whole)
PREFIX_SIM = 0.85  # a person's name part that begins the other's
HYPOCORISM_SIM = 0.85  # a given name's familiar form made from its stem ("Misha" / "Mikhail", "Vanya" / "Ivan")
SYMBOL_SIM = 0.95  # two words rigour knows as one name (any script, a nickname) or one number
EXTRA_PERSON_PART = 0.95  # a name part of the list's name the query leaves out (a middle name, a patronymic)
EXTRA_QUERY_PART = 0.93  # a person's name part the query gives and the list's name leaves out
EXTRA_ORG_PART = 0.9  # a word of the list's name the query leaves out ("BANK MELLI [IRAN]")
EXTRA_GENERIC_PART = 0.95  # ... a generic word or a place
EXTRA_MORE_PARTS = 0.97  # ... each further one
FULL_NAME_EXTRA = 0.9  # ... when the query gives its legal form: a full name, not a short form, is given
FORM_CONFLICT = 0.8  # legal forms of different classes on the two sides (AG / GmbH): different legal persons
NUMBER_CONFLICT = 0.7  # different numbers on the two sides ("FU YUAN YU 5" / "FU YUAN YU 8")
ACRONYM_SCORE = 0.9  # an organisation's acronym against its name
TRANSLIT_SCORE = 0.92  # a name in another script whose consonants are the Latin name's, all of them
PINYIN_SCORE = 0.92  # a Chinese name whose pinyin spells every distinctive word of the Latin name
TRANSLATED_WORD = 0.97  # ... for each generic word of the Latin name it translates ("Technology")


def _part_sim(a: Part, b: Part, person: bool, strict: bool = True) -> float:
    """How alike two words of names are; `strict` when both are written in Latin letters (a
    transliteration's spelling differences are not another name's)."""
    at, bt = a.text, b.text
    if at == bt:
        return 1.0
    if a.number or b.number:
        return 1.0 if a.symbols & b.symbols else 0.0
    if a.named & b.named:
        return SYMBOL_SIM
    la, lb = len(at), len(bt)
    if person:
        if la == 1 or lb == 1:
            short, long_ = (at, bt) if la == 1 else (bt, at)
            return INITIAL_SIM if long_.startswith(short) and len(long_) > 1 else 0.0
        if la >= 3 and lb >= 3:
            short, long_ = (at, bt) if la <= lb else (bt, at)
            if long_.startswith(short) and len(long_) > len(short) + 1 and not _PATRONYMIC.search(long_):
                return PREFIX_SIM  # a short form that begins the name ("Pat" / "Patrick", "Alex" / "Alexander")
            if hypocorism(at, bt) or hypocorism(bt, at):
                return HYPOCORISM_SIM
        if strict and _known_apart(a, b):
            return 0.0  # two given names rigour knows, and knows as different ("Bashar" / "Bushra")
    if a.loose == b.loose:
        return SYMBOL_SIM
    shortest = la if la < lb else lb
    spelled = Indel.normalized_similarity(at, bt)
    if a.phonetic and a.phonetic == b.phonetic and shortest >= 5 and spelled >= PHONETIC_SPELLING:
        return PHONETIC_SIM  # they sound alike and are spelled alike enough ("Hezbollah" / "Hizballah")
    s = max(spelled, Indel.normalized_similarity(a.loose, b.loose) * 0.98)
    if s < 0.75:
        return 0.0
    # As for whole names: in a short word one edit is already another word ("TESLA" / "TESA").
    allowed = 0 if shortest <= 4 else 1 if shortest <= 10 else 2
    if strict and OSA.distance(at, bt, score_cutoff=allowed + 1) > allowed:  # a transposition is one slip
        s *= SHORT_WORD_EDIT
    return s


def _known_apart(a: Part, b: Part) -> bool:
    """Are two words of persons' names both names rigour knows (by their "NAME:Q..." symbols), none of the
    symbols of one the other's, and more than one slip apart: different names however alike they sound
    ("Bashar" / "Bushra", "Mojtaba" / "Mostafa")? Spellings of one name share a symbol ("Sergey" /
    "Sergei"); one slip may well be a misspelling ("Yusef" / "Yousef", "Pavle" / "Pavel"), and a name
    beginning with the other's first four letters a familiar form cut from it ("Alejo" / "Alejandro")."""
    return a.known and b.known and a.text[:4] != b.text[:4] and not a.named & b.named and \
        OSA.distance(a.text, b.text, score_cutoff=2) >= 2


def different_names(q: Normalised, n: Normalised) -> bool:
    """Does a person's name hold a word that is another name than the word of the other it would be taken
    for by its spelling (`_known_apart`, spelled at least PHONETIC_SPELLING alike), neither of them naming
    any word of the other name? Then the names are compared word by word only: the whole names' spellings
    say "Bashar Al-Assad" ~ "Bushra Al-Assad", their words that these are two people."""
    if not n.person or not q.person or "transliteration" in q.applied or "transliteration" in n.applied:
        return False  # a name written in another script is spelled many ways in Latin letters
    if not any(p.known for p in q.words) or not any(p.known for p in n.words):
        return False
    qn, nn = frozenset().union(*(p.named for p in q.words)), frozenset().union(*(p.named for p in n.words))
    for a in q.words:
        if not a.known or a.named & nn or len(a.text) < 3:
            continue
        for b in n.words:
            if b.known and not b.named & qn and len(b.text) >= 3 and a.text != b.text and _known_apart(a, b) \
                    and not (a.text.startswith(b.text) or b.text.startswith(a.text)) \
                    and _sim(a.text, b.text) >= PHONETIC_SPELLING:
                return True
    return False


_FAMILIAR_ENDING = re.compile(r"(?:sh|zh|ch)?[aeiouy]*a$")


@lru_cache(maxsize=65536)
def hypocorism(familiar: str, full: str) -> bool:
    """Is `familiar` a given name's familiar form made the way Slavic and Romance languages make them, from
    the name's stem and an ending ("Misha" / "Mikhail", "Dima" / "Dmitry", "Kostya" / "Konstantin", "Vanya" /
    "Ivan", "Katya" / "Ekaterina")? Its stem (the ending's vowels and a hushing sound dropped), or the stem's
    first letter and consonants, runs through the full name in order and close together, from its first
    letter (its second after a first vowel); a patronymic ("Sergeevich") is no given name."""
    if familiar == full or len(familiar) < 4 or len(full) < 4 or len(familiar) > len(full) + 1 \
            or _PATRONYMIC.search(full) or _PATRONYMIC.search(familiar):
        return False
    stem = _FAMILIAR_ENDING.sub("", familiar)
    if len(stem) < 2 or stem == familiar:
        return False
    if len(familiar) >= len(full) and not _DIMINUTIVE.search(familiar):
        return False  # as long as the name and no diminutive: another name ("Olga" / "Oleg", "Rami" / "Rima")
    for letters in dict.fromkeys([stem, stem[0] + re.sub(r"[aeiouy]", "", stem[1:])]):
        if len(letters) < 2:
            continue
        for first in range(4 if len(letters) >= 3 else 1):
            if full[first] != letters[0]:
                continue
            k = first
            for c in letters[1:]:
                k = full.find(c, k + 1)
                if k < 0:
                    break
            if k >= 0 and k - first + 1 <= len(letters) + (2 if letters == stem else 1):
                return True
    return False


_DIMINUTIVE = re.compile(r"(?:ya|sha|zha|cha)$")
_PATRONYMIC = re.compile(r"(?:vich|vych|vna|ich|ovna|evna|ichna|yevich)$")


def align(q: Normalised, n: Normalised) -> float:
    """The query's words aligned one to one with the name's (rigour's parts: transliterated, numbers and
    nicknames as symbols, legal forms left out): their similarities, weighted by length (an initial
    counts as two letters), each word of the name left over discounting (less for generic words,
    places and, for persons, middle names)."""
    qp, np_ = q.words, n.words
    if not qp or not np_:
        return 0.0
    person = n.person
    strict = "transliteration" not in q.applied and "transliteration" not in n.applied
    pairs = []
    for i, a in enumerate(qp):
        for j, b in enumerate(np_):
            s = _part_sim(a, b, person, strict)
            if s > 0:
                pairs.append((s, i, j))
    pairs.sort(reverse=True)
    got: dict[int, float] = {}
    used: set[int] = set()
    for s, i, j in pairs:
        if i in got or j in used:
            continue
        got[i] = s
        used.add(j)
    # initials run together ("Obukhov SP" for Sergey Pavlovich, "Shalan AAN" for Abd Al Nur); an
    # organisation's acronym for some of its words ("BANK NFC" for BANK NATIONAL FACTORING COMPANY)
    if person or len(qp) > 1:
        word_at = {id(p): j for j, p in enumerate(np_)}
        shortest = 2 if person else 3
        for i, a in enumerate(qp):
            if i in got or not shortest <= len(a.text) <= 5 or not a.text.isalpha():
                continue
            # the name's words, or all its parts with particles ("al", "ben") that have initials too
            seqs = ((np_, n.parts) if len(a.text) <= 3 else (n.parts,)) if person else \
                ([p for p in n.parts if not p.stop],)
            for seq in seqs:
                free = [p for p in seq if word_at.get(id(p)) not in used]
                run = next((free[k:k + len(a.text)] for k in range(len(free) - len(a.text) + 1)
                            if "".join(p.text[0] for p in free[k:k + len(a.text)]) == a.text), None)
                if run:
                    got[i] = INITIAL_SIM if person else ACRONYM_SCORE
                    used.update(word_at[id(p)] for p in run if id(p) in word_at)
                    break
    weight = [max(len(p.text), 2) for p in qp]
    score = sum(w * got.get(i, 0.0) for i, w in enumerate(weight)) / sum(weight)
    left = len(qp) - len(got)
    if person and 0 < left <= 2 and len(used) == len(np_) >= 2:
        # Every part of the list's name is in the query, which gives one or two more (a middle name or a
        # patronymic the list leaves out): discounted as the list's own extra parts are, not counted as wrong.
        mine = sum(weight[i] for i in got)
        score = max(score, sum(weight[i] * s for i, s in got.items()) / mine * EXTRA_QUERY_PART ** left)
    if numbers_differ(q, n):
        score *= NUMBER_CONFLICT
    extra = 0
    for j, p in enumerate(np_):
        if j not in used:
            if person or p.place or p.text in GENERIC:
                score *= EXTRA_PERSON_PART if person else EXTRA_GENERIC_PART
            else:  # the first word left over says most ("BANK MELLI [IRAN]", "HEZBOLLAH [MILITARY WING]")
                score *= EXTRA_ORG_PART if not extra else EXTRA_MORE_PARTS
                extra += 1
    # "Aeon Co., Ltd." is a company's whole name; "VTB" may be short for "VTB BANK": words of the list's
    # name that a query with a legal form leaves out are another name's.
    if not person and q.legal and len(used) < len(np_):
        score *= FULL_NAME_EXTRA
    return score


def acronym(q: Normalised, n: Normalised) -> bool:
    """Is the query one word, without a legal form, made of the initials of the name's words ("IRISL",
    "RNCB")?"""
    # A name given with its legal form ("SAP SE") is a company's own name, not an acronym of another's.
    if n.person or len(q.tokens) != 1 or not 2 <= len(q.tokens[0]) <= 6 or len(n.parts) < 2 or q.legal:
        return False
    return q.tokens[0] in acronyms(n)


def acronyms(n: Normalised) -> set[str]:
    """The initials of an organisation's words (stop words left out), with and without its legal-form words
    and a generic last word ("GOLDEN RESOURCES TRADING COMPANY": "grtc", "grt")."""
    words = [p.text for p in n.parts if not p.stop]
    if n.person or len(words) < 2:
        return set()
    legal = {w for phrase in n.legal for w in phrase.split()} | LEGAL_WORDS
    out = set()
    for ws in (words, [w for w in words if w not in legal]):  # with and without its legal form ("SL")
        if len(ws) >= 2:
            out.add("".join(w[0] for w in ws))
            if ws[-1] in GENERIC:
                out.add("".join(w[0] for w in ws[:-1]))
    return {a for a in out if len(a) >= 3}


def compare(q: Normalised, n: Normalised, careful: bool = True, whole: tuple[float, str] | None = None,
            sims: tuple[float, float, float] | None = None) -> Comparison:
    """How alike two normalised names are, in [0, 1], and how (see the module docstring): the best of the
    whole-name comparison and, when `careful`, the word-by-word alignment (`align`; alone when a person's
    given name is another name rigour knows: `different_names`), lowered for legal forms of different
    classes. Screening is careful only with its best few candidates: the alignment
    costs ten times the whole-name comparison. `whole`: the whole-name comparison when already made
    (`Comparison.whole` of a comparison that was not careful); `sims`: `whole_sims` of the two names when
    already counted."""
    score, how = whole = whole or _compare_whole(q, n, sims)
    if careful:
        a = align(q, n)
        if a > score + 1e-9 or (a < score and different_names(q, n)):
            score, how = a, "name parts"
    if careful and ("transliteration" in q.applied) != ("transliteration" in n.applied):
        t, t_how = transliterated(q, n)
        if t > score + 1e-9:
            score, how = t, t_how
    if ACRONYM_SCORE > score and len(q.tokens) == 1 and acronym(q, n):
        score, how = ACRONYM_SCORE, "acronym"
    c = Comparison(score, how, whole=whole)
    if forms_conflict(q, n):
        c.score *= FORM_CONFLICT
        c.applied = ["legal form conflict"]
    if how != "name parts" and q.numbers and n.numbers and q.numbers != n.numbers:  # numbers_differ
        c.score *= NUMBER_CONFLICT
    return c


_DIGRAPHS = [("kh", "k"), ("sh", "s"), ("ch", "j"), ("zh", "j"), ("th", "t"), ("dh", "t"),
             ("ph", "f"), ("ts", "s"), ("ck", "k")]
_SOUNDS = {"q": "k", "c": "k", "g": "k", "x": "ks", "z": "s", "b": "p", "d": "t", "v": "f", "r": "l",
           "a": None, "e": None, "i": None, "o": None, "u": None, "y": None, "w": None}
_CONSONANTS = str.maketrans(_SOUNDS)
_CONSONANTS_W = str.maketrans({**_SOUNDS, "w": "f"})  # w as a consonant: Persian and Urdu waw is "v"
_SOFT_C = re.compile(r"c(?=[eiy])")
_PERSIAN_VOWEL_W = re.compile(r"(?<=[b-df-hj-np-tv-z])w(?=[b-df-hj-np-tv-z])")  # "nwbawh": the o of "nobaveh"


@lru_cache(maxsize=65536)
def skeleton(word: str, w_consonant: bool = False) -> str:
    """A word's consonants, voiced and unvoiced alike, r as l ("khatami" / "khatmy": "ktm"; "gimseongsu" /
    "kim sung su": "kmsnks"): what survives every romanisation of scripts that write no short vowels
    (Arabic, Hebrew) or write names by syllables (Hangul, kana). `w_consonant`: w read as v (Persian)
    rather than as a long vowel (Arabic), but as a vowel between two consonants, and the letters Arabic
    romanises "dh" and "th" read as Persian does (z, s); c before e, i, y is s (Latin spelling's soft c: "concern" / the kana "kontsuerun").
    The Latin name's words are always read the plain way."""
    if w_consonant:
        word = _PERSIAN_VOWEL_W.sub("u", word.replace("dh", "z").replace("th", "s"))
    for a, b in _DIGRAPHS:
        word = word.replace(a, b)
    word = _SOFT_C.sub("s", word)
    return re.sub(r"(.)\1+", r"\1", word.translate(_CONSONANTS_W if w_consonant else _CONSONANTS))


def _han(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf" for c in text)


def _covered(words: list[str], units: list[str]) -> int:
    """Letters of `words` found in `units`, each word once, longest first, wherever it stands in a unit
    (a script may join an article or a whole name into one word); a one-letter word only where a unit
    begins or an earlier word ended."""
    hay = " " + " ".join(units) + " "
    covered = 0
    for w in sorted(words, key=len, reverse=True):
        if not w:
            continue
        if len(w) > 1:
            k = hay.find(w)
        else:
            m = re.search(rf"(?<=[ #]){re.escape(w)}", hay)
            k = m.start() if m else -1
        if k >= 0:
            covered += len(w)
            hay = hay[:k] + "#" * len(w) + hay[k + len(w):]
    return covered


def transliterated(q: Normalised, n: Normalised) -> tuple[float, str]:
    """Two names of which one was written in another script: how many of their consonants (`skeleton`)
    the two share, the words of each found in the other's, as a Dice of letters, at most TRANSLIT_SCORE
    (or without the Latin name's generic words, which the other may translate, discounted each); a Chinese name by its pinyin (`pinyin_words`)."""
    (latin, other) = (q, n) if "transliteration" in n.applied else (n, q)
    if _han(other.raw):
        return pinyin_words(other, latin), "transliteration"
    best = 0.0
    for w_consonant in (False, True):
        units = [skeleton(t, w_consonant) for t in other.tokens]
        readings = [(latin.tokens, 1.0)]
        hay = " ".join(units)
        # its generic words not written in the other may be translated there ("Engineering")
        kept = [t for t in latin.tokens if t not in GENERIC or skeleton(t) in hay]
        if len(kept) < len(latin.tokens) and any(t not in GENERIC for t in kept):
            readings.append((kept, TRANSLATED_WORD ** (len(latin.tokens) - len(kept))))
        for tokens, discount in readings:
            words = [skeleton(t) for t in tokens]
            total = sum(map(len, words)) + sum(map(len, units))
            if min(sum(map(len, words)), sum(map(len, units))) < 4:
                continue
            shared = max(_covered(words, units), _covered(units, words))
            best = max(best, TRANSLIT_SCORE * discount * 2 * shared / total)
    return best, "transliteration"


def pinyin_words(han: Normalised, latin: Normalised) -> float:
    """A Chinese name (its pinyin syllables) against a Latin one: every distinctive word of the Latin name
    must be spelled by consecutive syllables ("Shenzhen Huaqiang" in "shen zhen hua qiang dian zi"), or a
    foreign name's word (three consonants or more) sounded by them, as Chinese writes foreign names
    ("Karubis" / "ka lu bu si": the same consonants), one of them not a place; its generic words
    ("Electronics") may be translated and its places written otherwise ("HK" for "xiang gang"), discounted
    each. The syllables left over are the translated words and the legal form, which are not checked."""
    syllables = han.tokens
    places = {p.text for p in latin.parts if p.place}
    used: set[int] = set()
    found = own = 0
    translated = 0
    for w in latin.tokens:
        hit = None
        sound = skeleton(w) if w not in GENERIC and len(skeleton(w)) >= 3 else None
        for exact in (True, False) if sound else (True,):
            for i in range(len(syllables)):
                for j in range(i + 1, min(i + 5, len(syllables)) + 1):
                    if used.intersection(range(i, j)):
                        continue
                    spelled = "".join(syllables[i:j])
                    if spelled == w if exact else skeleton(spelled) == sound:
                        hit = range(i, j)
                        break
                if hit:
                    break
            if hit:
                break
        if hit:
            used.update(hit)
            found += 1
            own += w not in places and w not in GENERIC
        elif w in GENERIC or w in places or is_place(w):
            translated += 1
        else:
            return 0.0
    if not found or not own:
        return 0.0
    return PINYIN_SCORE * TRANSLATED_WORD ** translated


def forms_conflict(q: Normalised, n: Normalised) -> bool:
    """Does each name have a class of legal form the other lacks (AG / GmbH, s.r.o. / a.s.)? A class on one
    side only is no conflict: rigour also reads a word of a name as a form ("Ca", "Ep")."""
    qf, nf = q.forms, n.forms
    return bool(qf) and bool(nf) and qf != nf and bool(qf - nf) and bool(nf - qf)


def whole_sims(q: Normalised, names: list[Normalised]) -> np.ndarray:
    """The similarities `_compare_whole` starts from, for all the names at once (rapidfuzz's cdist): rows
    the words joined, sorted, and without generic words."""
    if not names:
        return np.zeros((3, 0))
    return np.stack([
        cdist([q.joined], [n.joined for n in names], scorer=_similarity, dtype=np.float64)[0],
        cdist([q.sorted_joined], [n.sorted_joined for n in names], scorer=_similarity, dtype=np.float64)[0],
        cdist([q.core_joined], [n.core_joined for n in names], scorer=_similarity, dtype=np.float64)[0]])


def whole_bounds_of(q: Normalised, names: list[Normalised], sims: np.ndarray) -> np.ndarray:
    """For each name, a score `compare(q, name, careful=False)` cannot exceed, from the names' `whole_sims`:
    the best similarity of the words joined, sorted or without generic words (what `_compare_whole` starts
    from and only lowers), 0.9 for an acronym, 1 where a person's name may be partly given (not bounded
    here). So screening need not compare names that cannot be shown."""
    if not names:
        return np.zeros(0)
    bound = sims.max(axis=0)
    bound += 1e-9
    qt = len(q.tokens)
    for i, n in enumerate(names):
        nt = len(n.tokens)
        if n.person and qt >= 2 and nt >= 2 and qt != nt and abs(qt - nt) <= 2:
            bound[i] = 1.0
        elif qt == 1 and bound[i] < ACRONYM_SCORE and acronym(q, n):
            bound[i] = ACRONYM_SCORE
    return bound


def numbers_differ(q: Normalised, n: Normalised) -> bool:
    """Do both names have numbers, and not the same ones ("NO 21" / "NO 2", "One" / "3")?"""
    return bool(q.numbers) and bool(n.numbers) and q.numbers != n.numbers


_similarity = Indel.normalized_similarity


def _compare_whole(q: Normalised, n: Normalised, sims: tuple[float, float, float] | None = None) -> tuple[float, str]:
    """The whole-name score and how it was reached ("joined", "word order", "generic words", "partial person
    name"; "none" for a name without words). `sims`: the names' `whole_sims` when already counted."""
    qt, nt = q.tokens, n.tokens
    if not qt or not nt:
        return 0.0, "none"
    person = n.person
    qj, nj = q.joined, n.joined
    full = _similarity(qj, nj) if sims is None else sims[0]
    how = "joined"
    if len(qt) > 1 or len(nt) > 1:
        s = (_similarity(q.sorted_joined, n.sorted_joined) if sims is None else sims[1]) * (1.0 if person else 0.98)
        if s > full + 1e-9:
            full, how = s, "word order"
    qc, nc = q.core_joined, n.core_joined
    if qc and nc and (q.generic or n.generic) and qj != nj:
        core = _similarity(qc, nc) if sims is None else sims[2]
        if q.generic == n.generic:
            # The same generic words on both sides say little: the distinctive words decide as much.
            full = min(full, (full + core) / 2)
        elif len(qc) >= 4:
            # Generic words on one side only ("SENSETIME" / "SENSETIME GROUP"): compared apart, discounted
            # for each generic word that differs.
            s = core * 0.92 ** len(q.generic ^ n.generic) * (1.0 if min(len(qc), len(nc)) >= 5 else 0.93)
            if s > full + 1e-9:
                full, how = s, "generic words"
            else:
                full = min(full, (full + core) / 2)
    # Short names: one edit is already a different name ("TESLA" / "TESA", "VISA" / "VISTA").
    if how == "joined" and full < 0.999:
        shortest = min(len(qj), len(nj))
        allowed = 0 if shortest <= 4 else 1 if shortest <= 10 else 2 if shortest <= 16 else 99
        edits = Levenshtein.distance(qj, nj, score_cutoff=allowed + 1)
        if edits > allowed:
            full *= 0.9
    if person and len(qt) >= 2 and len(nt) >= 2 and len(qt) != len(nt):
        short, long_ = (qt, nt) if len(qt) < len(nt) else (nt, qt)
        if len(long_) - len(short) <= 2:
            free = list(long_)
            sims = []
            for t in short:
                j, s = 0, -1.0
                for k, u in enumerate(free):  # the first of the most alike
                    x = _similarity(t, u)
                    if x > s:
                        j, s = k, x
                if s < 0.8:
                    break
                sims.append(s)
                free.pop(j)
            else:
                s = sum(sims) / len(sims) * 0.9
                if s > full + 1e-9:
                    return s, "partial person name"
    return full, how


@lru_cache(maxsize=65536)
def _punctuation(name: str) -> tuple[str, ...]:
    """A name's punctuation marks, sorted (the same marks on both sides: no punctuation normalised)."""
    return tuple(sorted(re.findall(r"[^\w\s]", name)))


def normalisations(q: Normalised, n: Normalised, c: Comparison) -> list[str]:
    """Which normalisations the match between these two names needed (for the explanation)."""
    applied = sorted(q.applied | n.applied)
    a, b = q.raw, n.raw
    if a != b and _sim(a, b) < _sim(a.lower(), b.lower()):
        applied.insert(0, "case")
    if _punctuation(a) != _punctuation(b):
        applied.append("punctuation")
    if q.legal or n.legal:
        applied.append("legal form")
    if c.how in ("word order", "generic words", "partial person name", "name parts", "acronym"):
        applied.append(c.how)
    if c.how == "name parts" and q.generic != n.generic:
        applied.append("generic words")
    if forms_conflict(q, n):
        applied.append("legal form conflict")
    if q.tokens != n.tokens and c.how in ("joined", "word order"):
        if q.joined == n.joined or q.sorted_joined == n.sorted_joined:
            if q.joined == n.joined:
                applied.append("spacing")
        else:
            applied.append("spelling")
    return applied


_LABELS = {
    "case": "case", "accents": "accents", "transliteration": "transliteration", "punctuation": "punctuation",
    "legal form": "legal-form words", "word order": "word order", "generic words": "generic words",
    "partial person name": "omitted name parts", "spacing": "spacing", "spelling": "spelling differences",
    "identifier": "identifier", "short name": "a short name inside the legal name",
    "name parts": "name parts compared word by word (transliteration, nicknames, initials, numbers)",
    "acronym": "an acronym of the name", "legal form conflict": "legal forms of different kinds",
}


def which_name(e: ListEntry, name: str) -> str:
    """Which of the entry's names `name` is: "primary name", "former name" or "alias"."""
    return "primary name" if name == e.name else "former name" if name in e.names_of("fka") else "alias"


def explain(query: str, e: ListEntry, c: Comparison, q: Normalised, n: Normalised, which: str | None = None) -> str:
    """Why `query` matched the entry's name `n`, in a sentence; `which`: `which_name(e, n.raw)` when known."""
    matched = n.raw
    which = which or which_name(e, matched)
    what = f'"{query}" ~ {which} "{matched}"' + (f" of {e.name}" if which != "primary name" else "")
    if query == matched:
        return f"{what}: identical."
    steps = [_LABELS.get(a, a) for a in c.applied]
    detail = []
    words = list(dict.fromkeys(q.legal + n.legal))
    if words:
        detail.append(f"legal-form words set aside: {', '.join(words)}")
    if "generic words" in c.applied:
        detail.append(f"generic words ({', '.join(sorted(q.generic ^ n.generic))}) compared apart, score discounted")
    if "partial person name" in c.applied:
        detail.append("a name part is missing on one side, score discounted")
    if "legal form conflict" in c.applied:
        detail.append(f"legal forms of different kinds ({', '.join(sorted(q.forms))} / {', '.join(sorted(n.forms))}):"
                      " different legal persons, score lowered")
    score = c.name_score if c.name_score is not None else c.score
    if c.how == "short name":
        detail.append(f"every word of \"{query}\" is a word of the name; its other words are generic or abbreviations")
    text = f"{what}, {'name ' if score != c.score else ''}score {score:.2f}"
    if steps:
        text += "; normalised for " + ", ".join(steps)
    if detail:
        text += " (" + "; ".join(detail) + ")"
    return text + "."
