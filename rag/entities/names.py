"""Names: one place for how the project folds, compares, finds and resolves the names of parties.

- folding: `fold` (case, accents, punctuation) for comparing names and facts in text; `fold_name` adds
  transliteration of Cyrillic and Greek and joins apostrophes, for screening;
- legal forms ("Ltd", "Limited Liability Company", "OOO", "S.A. de C.V." ...), misspelt, split or joined
  ones repaired (`repair_legal`), and generic words ("Group", "Technology", "Holding" ...); `normalise`
  makes a name comparable for screening, `core_tokens`/`distinctive` for finding it in text;
- words a question uses for lists and programmes (`LIST_WORDS`) and whole English words
  (`common_words`): a capitalised one is no evidence of a name;
- mentions: capitalised names in a sentence (`mentions`), the names a question asks about
  (`question_names`), whether a text names one of some names (`names_any`);
- resolving a name to the list entries it refers to (`resolve_name`, over rag.entities.screen's name index).

Answers, briefings, screening, relations and the verifier all use these; nothing else defines them.
"""
from __future__ import annotations

import itertools
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz.distance import OSA


def _strip_accents(s: str) -> str:
    if s.isascii():
        return s
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def fold(s: str) -> str:
    """Case- and accent-folded, punctuation-free form for comparing names and facts."""
    s = re.sub(r"[^\w\s]", " ", _strip_accents(s).lower())
    return re.sub(r"\s+", " ", s).strip()


# Words of a name that do not tell it apart from others (compared apart when screening, not enough alone
# to find a name in text).
GENERIC = set(
    """group holding holdings international technology technologies tech science sciences industry industries
    industrial corporation enterprise enterprises trading trade investment investments development
    company service services system systems network networks digital information electronics electronic
    electric communications communication equipment engineering general national china chinese global
    bank of and for new research institute limited university manufacturing products intelligent""".split()
)
# Words a question uses for lists and programmes, never entity names.
LIST_WORDS = set(
    """ofac sdn ns cmic ns-cmic cmic-eo13959 eu uk un us usa treasury ofsi list lists sanctions sanction
    program programme order executive eo federal register official journal council regulation""".split()
)


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Whole English words of the embedding model's vocabulary ("department", "organization"): a
    capitalised one in a text is no evidence of a name, unlike "hikvision" or "sensetime"."""
    from pathlib import Path

    from rag.embeddings import default_model_path

    vocab = Path(default_model_path()) / "vocab.txt"
    if not vocab.exists():
        return frozenset()
    words = vocab.read_text(encoding="utf-8").split()
    return frozenset(w for w in words if w.isalpha() and len(w) >= 4)


# Legal-form words and phrases (folded and transliterated): set aside for organisations when names are compared.
LEGAL_WORDS = set(
    """ltd limited co company corp corporation inc incorporated llc plc gmbh ag sa srl spa bv nv oy oyj ab asa
    as jsc pjsc ojsc cjsc zao ooo oao pao ao llp lp pte pty kg kft sarl sas eurl sprl sl sae ltda lda pt tbk bhd
    sdn fze fzco fzc fzllc fz est wll kk se tov pat prat ug ohg gbr cv sab the""".split()
)
LEGAL_PHRASES = [tuple(p.split()) for p in """
limited liability company|limited liability partnership|limited partnership|public limited company
private limited company|company limited|joint stock company|public joint stock company
open joint stock company|closed joint stock company|private joint stock company|joint stock commercial bank
obshchestvo s ogranichennoy otvetstvennostyu|obshchestvo s ogranichennoi otvetstvennostiu
obshchestvo s ogranichennoj otvetstvennostju|aktsionernoe obshchestvo|aktsionernoye obshchestvo
publichnoe aktsionernoe obshchestvo|otkrytoe aktsionernoe obshchestvo|zakrytoe aktsionernoe obshchestvo
aktsionerne tovaristvo|tovaristvo z obmezhenoyu vidpovidalnistyu|privatne aktsionerne tovaristvo
publichne aktsionerne tovaristvo|sociedad anonima|societe anonyme|societa per azioni|aktiengesellschaft
gesellschaft mit beschrankter haftung|sociedad de responsabilidad limitada|s de rl de cv|s de rl|sa de cv
sa de c v|s a|s r l|s p a|b v|n v|co ltd|pvt ltd|private limited|sdn bhd|l l c|p l c|j s c
""".replace("\n", "|").split("|") if p.strip()]
_ABBREVIATED = {"company": "co", "limited": "ltd", "corporation": "corp", "incorporated": "inc"}
LEGAL_PHRASES += [v for p in LEGAL_PHRASES if len(p) > 1
                  for v in itertools.product(*[(w, _ABBREVIATED[w]) if w in _ABBREVIATED else (w,) for w in p])]
LEGAL_PHRASES = sorted(set(LEGAL_PHRASES), key=len, reverse=True)

_LATIN_EXTRA = {"ß": "ss", "æ": "ae", "ø": "o", "đ": "d", "ł": "l", "ı": "i", "œ": "oe", "þ": "th", "ð": "d"}


def _is_latin(c: str) -> bool:
    return ord(c) < 0x250 or 0x1E00 <= ord(c) < 0x1F00


@lru_cache(maxsize=65536)
def _ascii(text: str) -> str:
    """Other scripts in Latin letters: OpenSanctions' rigour (ICU transliteration: Cyrillic, Greek, Arabic,
    Hebrew, Georgian, Armenian, Han as pinyin, Hangul, kana ...), and anyascii where rigour has no
    transliteration (Khmer, Thai: rigour writes "?"); punctuation neither can render dropped."""
    from rigour.text import ascii_text

    out = ascii_text(text)
    if "?" in out and "?" not in text:
        from anyascii import anyascii

        out = anyascii(text)
    return out.replace("?", " ")


def fold_name(name: str) -> tuple[str, set[str]]:
    """`fold` with other scripts transliterated (rigour) and apostrophes joined ("QA'IDA" -> "qaida"), and
    which script normalisations it took ("accents", "transliteration"); case and punctuation differences
    are judged per pair (rag.entities.screen.normalisations)."""
    folded, applied = _fold_name(name)
    return folded, set(applied)


@lru_cache(maxsize=65536)
def _fold_name(name: str) -> tuple[str, frozenset[str]]:
    """`fold_name`, once per name (screening folds a query for its person and its organisation reading)."""
    applied: set[str] = set()
    lowered = name.lower()
    if any(c.isalpha() and not _is_latin(c) for c in lowered):
        # transliterated as written: stripping marks first would unvoice kana (ザ -> サ) and split Hangul
        applied.add("transliteration")
        if _strip_accents(lowered) != unicodedata.normalize("NFKD", lowered):
            applied.add("accents")
        stripped = "".join(_LATIN_EXTRA.get(c, c) for c in _strip_accents(_ascii(lowered).lower()))
    else:
        stripped = _strip_accents(lowered)
        if stripped != unicodedata.normalize("NFKD", lowered):
            applied.add("accents")
        if any(ord(c) > 127 for c in stripped):
            stripped = "".join(_LATIN_EXTRA.get(c, c) for c in stripped)
    return " ".join(fold(re.sub(r"['’`ʼʻʿʾ]", "", stripped)).replace("_", " ").split()), frozenset(applied)


_PHRASES_BY_FIRST: dict[str, list[tuple[str, ...]]] = defaultdict(list)
for _p in LEGAL_PHRASES:
    _PHRASES_BY_FIRST[_p[0]].append(_p)
# Words of legal forms and generic words, long enough to recognise when misspelt, split or run into the
# next word ("JOINT STOK COMPANY", "LIABI LITY", "TRADINGLLC", "INTRENATIONAL").
LEGAL_VOCAB = sorted({w for p in LEGAL_PHRASES for w in p if len(w) >= 4} | {w for w in LEGAL_WORDS if len(w) >= 5}
                     | {w for w in GENERIC if len(w) >= 5})
_VOCAB_SET = set(LEGAL_VOCAB)
_PHRASE_WORDS = {w for p in LEGAL_PHRASES for w in p if len(w) >= 5} - GENERIC  # "obshchestvo", "anonima"
_VOCAB_BY_FIRST: dict[str, list[str]] = defaultdict(list)  # in LEGAL_VOCAB's order
for _v in LEGAL_VOCAB:
    _VOCAB_BY_FIRST[_v[0]].append(_v)
_SPLIT_VOCAB = sorted([w for w in LEGAL_VOCAB if len(w) >= 7 and w not in GENERIC]
                      + ["company", "llc", "ltd", "plc", "gmbh", "joint", "stock"], key=len, reverse=True)


def join_initials(tokens: list[str]) -> list[str]:
    """Runs of single letters become one word: "s a de c v" -> "sa de cv", "l l c" -> "llc"."""
    out: list[str] = []
    run: list[str] = []
    for t in tokens + [""]:
        if len(t) == 1 and t.isalpha():
            run.append(t)
            continue
        if run:
            out.append("".join(run))
            run = []
        if t:
            out.append(t)
    return out


def repair_legal(tokens: list[str]) -> list[str]:
    """Legal-form words as the lists spell them, when a name misspells, splits or joins them:
    "stok" -> "stock", "liabi lity" -> "liability", "companybank" -> "company bank"."""
    vocab = _VOCAB_SET
    out: list[str] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if i + 1 < len(tokens) and t not in vocab and t + tokens[i + 1] in vocab:
            out.append(t + tokens[i + 1])
            i += 2
            continue
        if t not in vocab and len(t) >= 8:
            for v in _SPLIT_VOCAB:
                if len(v) >= 5 and t.startswith(v) and len(t) - len(v) >= 2:
                    out += [v, t[len(v):]]
                    break
                if t.endswith(v) and len(t) - len(v) >= 3:
                    out += [t[: -len(v)], v]
                    break
            else:
                out.append(t)
            i += 1
            continue
        out.append(t)
        i += 1
    for i, t in enumerate(out):
        if t in vocab or len(t) < 4 or t in LEGAL_WORDS:
            continue
        near_legal = any(0 <= j < len(out) and (out[j] in vocab or out[j] in LEGAL_WORDS) for j in (i - 1, i + 1))
        if len(t) < 6 and not near_legal:
            continue
        for v in _VOCAB_BY_FIRST.get(t[0], ()):
            if abs(len(v) - len(t)) <= 1 and OSA.distance(t, v, score_cutoff=1) <= 1:
                out[i] = v
                break
    return out


def strip_legal(tokens: list[str]) -> tuple[list[str], list[str]]:
    """Tokens without legal-form words and phrases (kept when nothing else would remain)."""
    out: list[str] = []
    removed: list[str] = []
    i = 0
    n = len(tokens)
    while i < n:
        for p in _PHRASES_BY_FIRST.get(tokens[i], ()):
            if tuple(tokens[i:i + len(p)]) == p:
                removed.append(" ".join(p))
                i += len(p)
                # a word of a longer form spelled otherwise just before it ("publichnoe" of "publichnoye
                # aktsionernoye obshchestvo", where only the last two are spelled as in the tables)
                if out and out[-1] in _PHRASE_WORDS:
                    removed[-1] = f"{out.pop()} {removed[-1]}"
                break
        else:
            t = tokens[i]
            if t in LEGAL_WORDS:
                removed.append(t)
            else:
                out.append(t)
            i += 1
    if not out:
        return tokens, []
    return out, removed


class Normalised:
    """A name made comparable: its words (legal forms set aside for organisations) and derived keys; rigour's
    analysis of its words (`parts`, `forms`, `numbers`, `words`) is made when first asked for (screening asks;
    the relation graph and `name_key` need only the words), then kept as plain attributes: screening reads
    them for every candidate it scores."""

    __slots__ = ("raw", "tokens", "applied", "legal", "person", "joined", "sorted_joined", "core", "core_joined",
                 "generic", "_light", "parts", "forms", "numbers", "words")

    def __init__(self, raw: str, tokens: list[str], applied: set[str], legal: list[str], person: bool,
                 parts: tuple["Part", ...] | None = None, forms: frozenset[str] = frozenset()):
        self.raw, self.tokens, self.applied, self.legal, self.person = raw, tokens, applied, legal, person
        if parts is not None:
            self._set_analysis(parts, forms)
        self._light: Normalised | None = None
        self.joined = "".join(tokens)
        self.sorted_joined = "".join(sorted(tokens))
        self.core = [t for t in tokens if t not in GENERIC]
        self.core_joined = "".join(sorted(self.core))
        self.generic = frozenset(t for t in tokens if t in GENERIC)

    def _set_analysis(self, parts: tuple["Part", ...], forms: frozenset[str]) -> None:
        # parts: its words with rigour's symbols; forms: the classes of its legal forms (rigour's org types:
        # "LLC", "JSC" ...); numbers: its numbers, as rigour's symbols where it has them ("NUM:3" for "three"
        # and "3"); words: the parts that are not stop words (all of them when every one is) nor legal-form
        # words set aside by `normalise`.
        self.parts, self.forms = parts, forms
        self.numbers = frozenset({s for p in parts if p.number for s in p.symbols}
                                 or {p.text for p in parts if p.number})
        words = tuple(p for p in parts if not p.stop) or parts
        if self.legal:  # words of legal forms set aside above that rigour kept as words ("publichnoye")
            legal = {w for phrase in self.legal for w in phrase.split()}
            words = tuple(p for p in words if p.text not in legal and repair_legal([p.text])[0] not in legal) or words
        self.words = words

    def __getattr__(self, attr: str):
        # Called only for an attribute not set yet: rigour's analysis, made on first use.
        if attr in ("parts", "forms", "numbers", "words"):
            self._set_analysis(*analyse(self.raw, self.person))
            return getattr(self, attr)
        raise AttributeError(attr)

    def light(self) -> "Normalised":
        """This name analysed without rigour's person-name tables (loading them costs seconds of CPU in a
        fresh process): a person's words keep their transliteration, numbers and initials but carry no
        given-name or nickname symbols. Itself for an organisation (whose tables are light)."""
        if not self.person:
            return self
        if self._light is None:
            self._light = Normalised(self.raw, self.tokens, self.applied, self.legal, self.person,
                                     *analyse(self.raw, self.person, tables=False))
        return self._light


def strip_spelled_forms(tokens: list[str]) -> tuple[list[str], list[str]]:
    """Legal forms that the tables above lack, from rigour's org-type tables of many languages
    ("ednolichno druzhestvo s ogranichena otgovornost", "limitada"): phrases, or words of five letters or more
    (rigour also reads short words such as "ca" or "pe" as forms, which names use as words); with them, words
    of the spelled-out forms above left beside them ("publichnoe" of a form spelled "aktsionernoye"). Kept
    when nothing else would remain."""
    if len(tokens) < 3:
        return tokens, []
    from rigour.names.org_types import extract_org_types

    text = " ".join(tokens)
    removed = [form for form, _ in extract_org_types(text) if " " in form or len(form) >= 5]
    if not removed:
        return tokens, []
    for form in removed:
        text = re.sub(rf"(?<!\S){re.escape(form)}(?!\S)", " ", text)
    out = []
    for t in text.split():
        if t in _PHRASE_WORDS:
            removed.append(t)
        else:
            out.append(t)
    return (out, removed) if out else (tokens, [])


@lru_cache(maxsize=65536)
def cyrillic_form(word: str) -> bool:
    """Is a word of three to five Latin letters a legal form's abbreviation that rigour's tables know in
    Cyrillic only ("eood" for ЕООД, "too" for ТОО, "ead" for ЕАД)? Read back into Cyrillic (ICU) and asked."""
    if not 3 <= len(word) <= 5 or not word.isalpha() or word in GENERIC:
        return False
    from rigour.names.org_types import extract_org_types

    to_cyrillic = _to_cyrillic()
    if to_cyrillic is None:
        return False
    cyrillic = to_cyrillic.transliterate(word)
    return any(form == cyrillic for form, _ in extract_org_types(cyrillic))


@lru_cache(maxsize=1)
def _to_cyrillic():
    """ICU's Latin-Cyrillic transliterator (PyICU, which normality requires); None without it."""
    try:
        import icu
    except ImportError:
        return None
    return icu.Transliterator.createInstance("Latin-Cyrillic")


def strip_cyrillic_forms(tokens: list[str]) -> tuple[list[str], list[str]]:
    """A first or last word that is a legal form's abbreviation known in Cyrillic (`cyrillic_form`),
    set aside as the other legal forms are."""
    if len(tokens) < 2:
        return tokens, []
    removed = []
    if cyrillic_form(tokens[-1]):
        removed.append(tokens[-1])
        tokens = tokens[:-1]
    if len(tokens) >= 2 and cyrillic_form(tokens[0]):
        removed.append(tokens[0])
        tokens = tokens[1:]
    return tokens, removed


def normalise(name: str, person: bool) -> Normalised:
    folded, applied = fold_name(name)
    tokens = join_initials(folded.split())
    legal: list[str] = []
    if not person:
        tokens, legal = strip_legal(repair_legal(tokens))
        tokens, spelled = strip_spelled_forms(tokens)
        tokens, abbreviated = strip_cyrillic_forms(tokens)
        legal += spelled + abbreviated
    return Normalised(name, tokens, applied, legal, person)


@lru_cache(maxsize=4096)
def is_place(text: str) -> bool:
    """A country, territory or city named by itself ("China", "Hong Kong", "Moscow"), by rigour's territory
    names: such a mention says where, rarely who (a government is named as one: "the Russian government",
    "Government of X"); no list entry names a place as such."""
    from rigour.territories import lookup_territory

    return lookup_territory(re.sub(r"^the\s+", "", text, flags=re.I)) is not None


def name_forms(name: str) -> list[str]:
    """A name and, when it holds a part in brackets ("Islamic Republic of Iran Broadcasting (IRIB)",
    "Joint Stock Company Zvezda (JSC Zvezda)"), the name outside the brackets and each part inside them:
    lists and registries write a short form or an acronym that way."""
    inside = [m.strip() for m in re.findall(r"[(\[（]([^()\[\]（）]+)[)\]）]", name)]
    if not inside:
        return [name]
    outside = " ".join(re.sub(r"[(\[（][^()\[\]（）]*[)\]）]", " ", name).split())
    from rigour.territories import lookup_territory

    # A place in brackets qualifies the name ("CHINA UNICOM (HONG KONG) LIMITED"): it names no one.
    inside = [f for f in inside if lookup_territory(f) is None]
    return list(dict.fromkeys(f for f in [name, outside, *inside] if re.search(r"\w", f)))


@dataclass(slots=True)
class Part:
    """A word of a name as rigour analyses it: its Latin form, a looser form for comparing
    transliterations, and the symbols it carries (the same given name in any script or as a nickname
    "NAME:Q..."/"NICK:...", a number written either way "NUM:3", a place "LOC:ir"). Never changed once
    made (analyses are cached); not frozen, as a frozen dataclass is three times slower to make, and every
    query makes a few."""

    text: str
    loose: str
    symbols: frozenset[str]
    phonetic: str = ""  # rigour's metaphone of the word
    number: bool = False
    stop: bool = False
    place: bool = False
    named: frozenset[str] = frozenset()  # its symbols but initials: what names the same word in another form
    known: bool = False  # rigour knows it as a name ("NAME:Q..." among its symbols)


_LOOSE = [("kh", "h"), ("ph", "f"), ("w", "v"), ("y", "i"), ("j", "i"), ("ou", "u"), ("ee", "i"), ("oo", "u"),
          ("q", "k"), ("c", "k"), ("z", "s"), ("x", "ks")]


def loose(text: str) -> str:
    """A form that reads alike whatever the transliteration scheme ("Huavei"/"Huawei", "Khalid"/"Halid",
    "Yevgeny"/"Evgenij"): a few letter groups folded, doubled letters single."""
    for a, b in _LOOSE:
        text = text.replace(a, b)
    return re.sub(r"(.)\1+", r"\1", text)


@lru_cache(maxsize=200_000)
def _word(form: str, ascii_form: str | None) -> tuple[str, str]:
    """A word's Latin text and loose form (cached: the lists' names share most of their words)."""
    text = fold(ascii_form or _ascii(form)).replace(" ", "")
    return text, loose(text)


_CATEGORIES: dict = {}


def _category(symbol) -> str:
    """A rigour symbol's category name ("NAME", "ORG_CLASS" ...), cached per category."""
    cat = symbol.category
    name = _CATEGORIES.get(cat)
    if name is None:
        name = _CATEGORIES[cat] = str(cat).rsplit(".", 1)[-1]
    return name


@lru_cache(maxsize=1)
def _nicknames():
    """The `nicknames` package's table of English given names and their short forms (Bob, Bobby / Robert;
    Jim, Jimmy / James), as {word: the full names it is or is a short form of}."""
    from nicknames import NickNamer

    nn = NickNamer()
    table: dict[str, set[str]] = defaultdict(set)
    for full, shorts in nn.nickname_lookup.items():
        table[full].add(full)
        for short in shorts:
            table[short].add(full)
    return {k: frozenset(v) for k, v in table.items()}


def nickname_symbols(word: str) -> frozenset[str]:
    """Symbols shared by a given name and its short forms ("NICK:robert" for Robert, Bob and Bobby)."""
    return frozenset(f"NICK:{full}" for full in _nicknames().get(word, ()))


_PERSON_TABLES: list[bool] = []  # not empty once a person's name was analysed with rigour's tables


def person_tables_loaded() -> bool:
    """Has this process loaded rigour's person-name tables (so analysing persons' names is cheap now)?"""
    return bool(_PERSON_TABLES)


@lru_cache(maxsize=200_000)
def analyse(name: str, person: bool, tables: bool = True) -> tuple[tuple[Part, ...], frozenset[str]]:
    """A name's words (legal forms left out) with rigour's symbols, and the classes of its legal forms
    ("LLC", "JSC" ...: rigour's org-type tables of many languages, "GmbH" and "OOO" both LLC). Once per
    distinct name and kind (cached); rigour's person-name tables load on the first person name
    (`warm` loads them ahead). A person's name without `tables` is tagged with the organisation tables
    only (numbers, initials; no given-name symbols), its legal-form words kept as words and no forms."""
    from rigour.names import NamePartTag, NameTypeTag, analyze_names

    light = person and not tables
    if person and tables and not _PERSON_TABLES:
        _PERSON_TABLES.append(True)
    names = analyze_names(NameTypeTag.PER if person and tables else NameTypeTag.ORG, [name], infer_initials=person)
    if not names:
        return (), frozenset()
    n = max(names, key=lambda x: len(x.parts))
    syms: dict[int, set[str]] = defaultdict(set)
    forms: set[str] = set()
    places: set[int] = set()
    org_spans = []
    for span in n.spans:
        cat = _category(span.symbol)
        if cat == "ORG_CLASS":
            if not light:
                org_spans.append((min(p.index for p in span.parts), max(p.index for p in span.parts), span.symbol.id))
        elif cat == "LOCATION":
            places.update(p.index for p in span.parts)
        elif cat in ("NAME", "NICK", "NUMERIC", "INITIAL") and len(span.parts) == 1:
            syms[span.parts[0].index].add(f"{cat}:{span.symbol.id}")
    forms = {x[2] for x in org_spans}
    parts = []
    legal, num, stop = NamePartTag.LEGAL, NamePartTag.NUM, NamePartTag.STOP
    for p in n.parts:
        tag = p.tag
        if tag == legal and not light:
            continue
        text, loose_ = _word(p.form, p.ascii)
        if not text:
            continue
        mine = syms.get(p.index, set())
        if person and tables and text.isalpha():
            mine = mine | nickname_symbols(text)
        parts.append(Part(text, loose_, frozenset(mine), p.metaphone or "",
                          number=tag == num or any(s.startswith("NUMERIC") for s in mine),
                          stop=tag == stop, place=p.index in places,
                          named=frozenset(s for s in mine if not s.startswith("INITIAL")),
                          known=any(s.startswith("NAME:") for s in mine)))
    return tuple(parts), frozenset(forms)


def warm() -> None:
    """Load rigour's name tables now (person names take seconds the first time in a process), so the
    first screening or question does not wait for them."""
    analyse("John Smith", True)
    analyse("Acme Trading Ltd", False)


# --------------------------------------------------------------------------- names in text, word by word

# Letters and particles of legal forms written apart ("S.A.", "S.A. de C.V.") when a text is read word by word.
_FORM_PARTICLES = {"s", "a", "de"}


def core_tokens(name: str) -> list[str]:
    """A name's folded words without its legal form, word by word as a text writes them (so nothing is
    respelled or joined); generic words kept (they are still part of the name)."""
    return [t for t in fold(name).split() if t not in LEGAL_WORDS and t not in _FORM_PARTICLES]


def distinctive(tokens: list[str]) -> list[str]:
    return [t for t in tokens if t not in GENERIC and t not in LEGAL_WORDS and t not in _FORM_PARTICLES
            and len(t) > 1]


def name_key(name: str) -> str:
    """One key for the spellings of an organisation's name (legal form, case, accents, script folded)."""
    return " ".join(normalise(name, False).tokens)


# --------------------------------------------------------------------------- mentions

_STOP_AFTER = r"(?!(?:owned|backed|controlled|based|listed|run|led|made)\b)(?!s\b)"
_WORD = rf"(?:(?<![\w&])[a-z]{{0,2}}[A-Z][\w&]*(?:[.\-'’]{_STOP_AFTER}[\w&]+)*\.?)"
_CONNECT = r"(?:of|de|du|der|des|la|le|del|di|da|y|for|&)"
_SUFFIX = r"(?:,[ \t]+(?:Ltd|Limited|Inc|LLC|L\.L\.C|S\.A|N\.V|B\.V|PLC|plc|AG|GmbH|JSC|PJSC|Co|Corp)\.?(?![\w]))"
_LOWER_LEGAL = r"(?:[ \t]+(?:plc|ltd|inc|llc|gmbh|p\.l\.c|s\.a|n\.v|b\.v|co|corp)\.?(?!\w))"
NAME_RE = re.compile(rf"{_WORD}(?:[ \t]+(?:{_CONNECT}[ \t]+)?{_WORD})*{_LOWER_LEGAL}?{_SUFFIX}?")
# "Political and Legal Affairs Commission": two names joined by "and" are one when the second ends in one
# of these words (else "Mastercard and Visa" stay two).
_ORG_END = re.compile(r"\b(?:Commission|Committee|Bureau|Department|Ministry|Council|Office|Agency|Corps|Authority|"
                      r"Administration|Association|Institute|Corporation|Company|Group|Bank|Industries|Works|"
                      r"Enterprises?|Organi[sz]ation|Fund)\.?$")
ACRONYM_RE = re.compile(r"\s*\(([A-Z][A-Za-z0-9&.\-]{1,11})\)")
_STARTERS = set("""The A An According In On At After Before When While If For By With From To As Its It He She They We
This That These Those But And Or Also However Meanwhile Nikkei Reuters Under Since Until During Following Last
January February March April May June July August September October November December Monday Tuesday Wednesday
Thursday Friday Saturday Sunday Mr Mrs Ms Dr
Additionally Accordingly Moreover Furthermore Therefore Thus Yes No Both Neither Either None Several Many Most Some
Although Because Per Based Overall Currently Today Here There Their His Her Answer Note
Is Was Were Are Has Have Did Does Do Can Could Should Would Will Which What Who Whom Whose Why How Where
Tell Give Show""".split())
_ABBREV_END = re.compile(r"(?:\b(?:Co|CO|Corp|CORP|Inc|INC|Ltd|LTD|Bhd|BHD|Pty|Pte|Plc|PLC|LLC|S\.A|N\.V|B\.V|A\.G|Jr|Sr)\.)$")


@dataclass
class Mention:
    text: str
    start: int
    end: int  # end of the name itself
    after: int  # end including an "(ACRONYM)" that follows
    acronym: str | None = None


def mentions(sentence: str) -> list[Mention]:
    """Capitalised names in a sentence ("SenseTime", "iFlytek", "Bank of China", "Hangzhou Hikvision Digital
    Technology Co., Ltd."), function words, question words and months around them removed, an "(ACRONYM)"
    that follows noted."""
    out: list[Mention] = []
    for m in NAME_RE.finditer(sentence):
        if out and m.start() < out[-1].after:
            continue  # the "(JCV)" after a name
        text, start = m.group(0), m.start()
        words = text.split()
        while words and (words[0].rstrip(".") in _STARTERS or re.fullmatch(_CONNECT, words[0])):
            cut = text.index(words[0]) + len(words[0])
            start += cut + (len(text[cut:]) - len(text[cut:].lstrip()))
            text = text[cut:].lstrip()
            words = words[1:]
        while words and (words[-1].rstrip(".") in _STARTERS or re.fullmatch(_CONNECT, words[-1])):
            text = text[: text.rindex(words[-1])].rstrip()
            words = words[:-1]
        if not words:
            continue
        if text.endswith(".") and not _ABBREV_END.search(text):
            text = text[:-1]
        end = start + len(text)
        after, acronym = end, None
        if a := ACRONYM_RE.match(sentence, m.end() if sentence[end:m.end()].strip(". ") == "" else end):
            acronym, after = a.group(1), a.end()
        if out and re.fullmatch(r"\s+(?:and|&)\s+", sentence[out[-1].after:start]) and _ORG_END.search(text) \
                and not out[-1].acronym:
            prev = out.pop()
            text, start = sentence[prev.start:end], prev.start
        out.append(Mention(text, start, end, after, acronym))
    return out


def display_name(name: str) -> str:
    """A name as written in a sentence, for showing: white space folded, edge punctuation dropped."""
    return re.sub(r"\s+", " ", name).strip(" ,;:")


def name_pattern(name: str) -> re.Pattern:
    """A name's words in a text, whatever punctuation or spacing stands between them, case ignored."""
    words = re.findall(r"[^\W_]+", name)
    return re.compile(r"(?<![^\W_])" + r"[\W_]*".join(map(re.escape, words)) + r"(?![^\W_])", re.I)


def question_names(text: str) -> list[str]:
    """The names a question asks about ("iFlytek", "SoftBank"), without list and programme words."""
    out = []
    for m in mentions(text):
        parts = [p for p in m.text.split() if fold(p) not in LIST_WORDS]
        if parts:
            out.append(" ".join(parts).strip(".,?"))
    return [o for o in out if o]


def names_all(text: str, name: str) -> bool:
    """Does `text` have every word of `name` but its legal form ("Corp.", "Ltd"), ignoring case and accents?"""
    words = set(fold(text).split())
    return all(w in words for w in fold(name).split() if w not in LEGAL_WORDS)


def names_any(text: str, names) -> bool:
    """Does `text` name any of `names` as whole words, ignoring case, accents and punctuation?"""
    hay = f" {fold(text)} "
    return any(f" {fold(n)} " in hay for n in names if fold(n))


# --------------------------------------------------------------------------- resolving


def resolve_name(name_index, name: str, threshold: float) -> list:
    """The list entries a name refers to: the screening matches (rag.entities.screen.NameIndex) at or above the
    threshold that share the best score, by entity id; none when the best is below it. Screened `light`
    (without rigour's person-name tables), so answering a question does not wait for them to load."""
    res = name_index.screen_one(name, None, threshold, light=True)
    if not res.matches:
        return []
    best = res.matches[0].score
    return sorted((m for m in res.matches if m.match and m.score >= best - 1e-6), key=lambda m: m.entity_id)
