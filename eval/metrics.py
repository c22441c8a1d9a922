"""Every metric the evaluation reports, each defined exactly in its docstring.

Pure functions over plain data (strings, lists, booleans), so they can be tested on small hand-made
inputs. The runner turns Answers and Briefings into these inputs; the only judge of "support" is the
project's own verifier, passed in as a function.
"""
# Over 400 lines by design: one small function per metric, read as a list; several suites share them.
from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence

from rag.entities.names import fold
from rag.core.dates import find_dates
from rag.core.text import STOPWORDS

# --- retrieval ----------------------------------------------------------------------------------------


def _dedupe(ranked: Sequence) -> list:
    """The ranking with repeats removed (first occurrence kept): two chunks of one gold passage count once."""
    seen, out = set(), []
    for r in ranked:
        if r not in seen:
            seen.add(r)
            out.append(r)
    return out


def recall_at_k(ranked: Sequence, relevant: Iterable, k: int = 10) -> float:
    """Recall@k = |relevant ∩ top k of ranked| / |relevant|.

    `ranked` is a list of passage keys, best first (repeats are dropped, first occurrence kept);
    `relevant` is the set of gold keys. With no gold keys the value is undefined: ValueError.
    """
    rel = set(relevant)
    if not rel:
        raise ValueError("recall_at_k: no relevant items")
    top = _dedupe(ranked)[:k]
    return len(rel.intersection(top)) / len(rel)


def average_precision_at_k(ranked: Sequence, relevant: Iterable, k: int = 10) -> float:
    """AP@k = (1 / min(|relevant|, k)) * Σ_{i=1..k} P@i · rel(i),

    where rel(i) is 1 when the i-th result (after dropping repeats) is gold and P@i is the share of gold
    results among the first i. The normaliser min(|relevant|, k) is the usual one for MAP@k (the
    ObliQA / trec_eval convention caps it at k). With no gold keys: ValueError.
    """
    rel = set(relevant)
    if not rel:
        raise ValueError("average_precision_at_k: no relevant items")
    hits, total = 0, 0.0
    for i, r in enumerate(_dedupe(ranked)[:k], start=1):
        if r in rel:
            hits += 1
            total += hits / i
    return total / min(len(rel), k)


def reciprocal_rank(ranked: Sequence, relevant: Iterable, k: int = 10) -> float:
    """RR@k = 1 / (rank of the first gold result), or 0 when no gold result is in the top k."""
    rel = set(relevant)
    for i, r in enumerate(_dedupe(ranked)[:k], start=1):
        if r in rel:
            return 1.0 / i
    return 0.0


def mean_average_precision(runs: Sequence[tuple[Sequence, Iterable]], k: int = 10) -> float:
    """MAP@k = the mean of average_precision_at_k over queries; `runs` is [(ranked, relevant), ...]."""
    return _mean(average_precision_at_k(r, g, k) for r, g in runs)


map_at_k = mean_average_precision  # MAP@10 in the reports


def mrr(runs: Sequence[tuple[Sequence, Iterable]], k: int = 10) -> float:
    """MRR@k = the mean of reciprocal_rank over queries; `runs` is [(ranked, relevant), ...]."""
    return _mean(reciprocal_rank(r, g, k) for r, g in runs)


def mean_recall_at_k(runs: Sequence[tuple[Sequence, Iterable]], k: int = 10) -> float:
    """Mean Recall@k over queries (macro average; every query counts once)."""
    return _mean(recall_at_k(r, g, k) for r, g in runs)


# --- facts in answers ---------------------------------------------------------------------------------

_MONTH_WORDS = {"jan", "january", "feb", "february", "mar", "march", "apr", "april", "may", "jun", "june", "jul",
                "july", "aug", "august", "sep", "sept", "september", "oct", "october", "nov", "november", "dec",
                "december"}


def _as_date(alternative: str):
    """The date an expected fact names when the fact is nothing but one date in a common form
    ("2021-12-10", "10 Dec 2021", "December 10, 2021"); None otherwise ("Aug 1953" is not a date)."""
    dates = find_dates(alternative)
    if len(dates) != 1:
        return None
    tokens = re.findall(r"[a-z]+|\d+", alternative.lower())
    if all(t.isdigit() or t in _MONTH_WORDS or t in ("st", "nd", "rd", "th") for t in tokens):
        return next(iter(dates))
    return None


def fact_present(alternatives: Sequence[str], text: str) -> bool:
    """True when any alternative of one fact is in `text`.

    An alternative that is only a date ("2021-12-10", "10 Dec 2021") matches any form of that date in
    the text, as read by rag.core.dates.find_dates (10 December 2021, December 10, 2021, 2021-12-10,
    12/10/2021, 10.12.2021). Any other alternative matches when its rag.entities.names.fold form (case, accents
    and punctuation folded) occurs in the folded text on word boundaries ("SenseTime Group" is in
    "SENSETIME GROUP LIMITED"; "CMIC-EO13959" is in "program CMIC-EO13959"; "sense" is not in "sensetime").
    """
    folded = f" {fold(text)} "
    dates = None
    for alt in alternatives:
        d = _as_date(alt)
        if d is not None:
            if dates is None:
                dates = find_dates(text)
            if d in dates:
                return True
            continue
        f = fold(alt)
        if f and f" {f} " in folded:
            return True
    return False


def fact_recall(facts: Sequence[Sequence[str]], text: str) -> float:
    """Share of required facts present in `text` (fact_present for each); 1.0 when nothing is required."""
    if not facts:
        return 1.0
    return sum(fact_present(f, text) for f in facts) / len(facts)


def citation_matches(citation: dict, spec: dict) -> bool:
    """Does one citation satisfy one must_cite spec?

    `citation` has doc_id, source and optionally uid (list entries) or document_number (notices).
    `spec` may give `source` (a case-insensitive substring of the citation's source path or doc_id),
    `uid` (equal to the citation's uid, or the doc_id ends with ":<uid>" or "/<uid>"), and `doc`
    (a substring of the doc_id, e.g. a Federal Register document number). Every key given must match.
    """
    src = f"{citation.get('source', '')} {citation.get('doc_id', '')}".lower()
    if spec.get("source") and spec["source"].lower() not in src:
        return False
    if spec.get("uid"):
        uid = str(spec["uid"])
        doc_id = str(citation.get("doc_id", ""))
        if str(citation.get("uid") or "") != uid and not re.search(rf"[:/]{re.escape(uid)}$", doc_id):
            return False
    if spec.get("doc") and spec["doc"].lower() not in str(citation.get("doc_id", "")).lower() \
            and spec["doc"] != str(citation.get("document_number") or ""):
        return False
    return True


def cites_required(citations: Sequence[dict], must_cite: Sequence[dict] | dict | None) -> bool:
    """True when no citation is required, or some citation matches some spec (the specs are
    alternatives: any of them will do)."""
    if not must_cite:
        return True
    specs = [must_cite] if isinstance(must_cite, dict) else list(must_cite)
    return any(citation_matches(c, s) for c in citations for s in specs)


# --- "not found", invented listings and refusals ------------------------------------------------------

NOT_FOUND = re.compile(
    r"\b(does not appear|do not appear|did not appear|is not on|are not on|was not on|were not on|not listed|"
    r"no (list )?entr(y|ies)|no listing|not (found|included|designated|named)|no match|not in (any|the))\b", re.I)
_LISTED = re.compile(
    r"\b(is|are|was|were|been|being|remains?)\s+(?:\w+\s+){0,3}?(on|added|listed|designated|placed|included|"
    r"sanctioned|blocked|identified)\b|\b(added|listed|designated)\s+(to|on|under|by)\b|\bunder program\b", re.I)
_NEGATION = re.compile(r"\b(not|no|never|neither|nor|without|absent|n't|none)\b", re.I)
# Words that do not make two names the same entity: company forms, institutional words, country names.
_GENERIC = set("""group limited company technology technologies holding holdings corporation international bank
    trading industry industries information enterprise enterprises office central public state national ministry
    department bureau committee general security force forces army military organization organisation people
    peoples republic democratic federal china chinese myanmar burma burmese korea korean north russia russian
    iran iranian syria syrian xinjiang""".split())


def says_not_found(text: str) -> bool:
    """True when the answer states that the entity is not found / not listed (see NOT_FOUND)."""
    return bool(NOT_FOUND.search(text))


def _mentions(folded_sentence: str, names: Sequence[str]) -> bool:
    return any(f" {fold(n)} " in folded_sentence for n in names if fold(n))


def _list_term_in(folded_sentence: str, lists: Sequence[str]) -> bool:
    if not lists:
        return True
    s = folded_sentence.replace(" non sdn ", " ")  # "Non-SDN Chinese Military..." is not the SDN list
    return any(f" {fold(t)} " in s for t in lists)


def invented_listing_claims(sentences: Sequence[str], names: Sequence[str], lists: Sequence[str] = ()) -> list[str]:
    """The sentences that state, without negation, that an entity named by `names` is on a list.

    A sentence counts when (1) it names the entity (any of `names`, folded, on word boundaries),
    (2) it names one of `lists` (folded list words such as "sdn", "ns cmic"; any list when empty;
    "non-SDN" does not count as "SDN"), (3) it has a listing phrase ("is on", "was added to",
    "listed on", "designated", "under program" ...) and (4) it has no negation word (not, no, never,
    neither, nor, without ...). For an entity that is on none of the lists, each such sentence is an
    invented listing.
    """
    out = []
    for s in sentences:
        f = f" {fold(s)} "
        if _mentions(f, names) and _list_term_in(f, lists) and _LISTED.search(s) and not _NEGATION.search(s):
            out.append(s)
    return out


_LIST_TERMS = ("sdn", "ns cmic", "cmic", "eu", "uk", "capta", "fse", "ns plc", "ns mbs", "ssi", "un", "entity list")


def self_contradictions(sentences: Sequence[str]) -> list[tuple[str, str]]:
    """(negative, positive) pairs of one answer's sentences that contradict each other about one entity's
    listing: the negative says an entity is not on a list (NOT_FOUND), the positive says, without
    negation, that an entity sharing a distinctive name word (4+ letters, not a _GENERIC word) is on a list
    (_LISTED), and either the negative names no particular list or both name the same one."""
    def names(s: str) -> set[str]:
        return {w for w in fold(s).split() if len(w) >= 3 and w not in _GENERIC and w not in STOPWORDS and w not in
                {"does", "appear", "list", "lists", "entry", "entries", "store", "sanctions", "published", "with",
                 "filters", "under", "program", "listed", "effective", "divestment", "date", "jurisdiction"}}

    def lists(s: str) -> set[str]:
        f = f" {fold(s).replace(' non sdn ', ' ')} "
        return {t for t in _LIST_TERMS if f" {t} " in f}

    out = []
    negatives = [s for s in sentences if NOT_FOUND.search(s)]
    positives = [s for s in sentences if _LISTED.search(s) and not _NEGATION.search(s)]
    for n in negatives:
        # The entity is named before the negation ("X does not appear ...", "No: X has no entry on L"), in the
        # same line; the list after it, up to what was looked at ("in the store (...)").
        line = next(x for x in n.splitlines() if NOT_FOUND.search(x))
        m = NOT_FOUND.search(line)
        subject, rest = line[:m.start()], re.split(r"\bin the store\b|\(", line[m.start():])[0]
        head = subject + " " + rest
        for p in positives:
            if not names(subject) & names(p):
                continue
            if names(head) & names(p) and (not lists(head) or lists(head) & lists(p)):
                out.append((n, p))
    return out


def false_list_matches(cited_entries: Sequence[str], names: Sequence[str]) -> list[str]:
    """List entries (their names) cited in an answer about an unlisted entity that share a distinctive word
    with the entity's names: a different entity presented as a match (e.g. "ZHEJIANG X CO" for
    "Zhejiang Dahua"). Words of 3 letters or fewer, company and institutional words and country names
    (_GENERIC) do not count."""
    words = {w for n in names for w in fold(n).split() if len(w) > 3 and w not in _GENERIC}
    return [e for e in cited_entries if words & set(fold(e).split())]


def refusal_correct(refused: bool, should_refuse: bool) -> bool:
    """A case's refusal is right when the answer refused exactly when it should have (cases that accept
    either a refusal or an answer are left out of refusal accuracy)."""
    return bool(refused) == bool(should_refuse)


def refusal_accuracy(pairs: Sequence[tuple[bool, bool]]) -> float:
    """Share of cases where (refused, should_refuse) agree: refuses when it should, answers when it can."""
    return _mean(refusal_correct(r, s) for r, s in pairs)


def exact_correct(*, category: str, fact_recall_value: float, cite_ok: bool, refused: bool,
                  should_refuse: bool, not_found: bool | None = None, invented: int = 0,
                  forbidden_hits: int = 0, accept_refusal: bool = False) -> bool:
    """Exact correctness of one case (all conditions must hold):

    - unanswerable, or any case with should_refuse: the answer refused (Answer.refused);
    - a case that accepts a refusal (a false premise the answer may either refuse or correct): a refusal
      is correct; otherwise the rules below apply;
    - negative (an entity not on the lists): the answer says so (says_not_found), invents no listing
      (invented == 0) and contains every required fact, if any;
    - every other category: the answer did not refuse, contains every required fact
      (fact_recall == 1), cites the required source when one is given (cite_ok), invents no listing
      and states nothing from the case's forbidden list (forbidden_hits == 0). A case that expects
      "not found" (not_found is not None) must also say so.
    """
    if should_refuse or (accept_refusal and refused):
        return bool(refused) and invented == 0 and forbidden_hits == 0
    if category == "negative":
        return bool(not_found) and invented == 0 and forbidden_hits == 0 and fact_recall_value == 1.0
    ok = not refused and fact_recall_value == 1.0 and cite_ok and invented == 0 and forbidden_hits == 0
    if not_found is not None:
        ok = ok and bool(not_found)
    return ok


# --- citations (ALCE) ---------------------------------------------------------------------------------


def alce_citation_scores(statements: Sequence[tuple[str, Sequence[str]]],
                         supports: Callable[[str, Sequence[str]], bool]) -> dict:
    """Citation recall and precision of one answer, as defined by ALCE (Gao et al., 2023), with the
    project's verifier as the judge `supports(sentence, passages) -> bool`.

    `statements` are the answer's factual sentences with the texts of the passages each cites
    (sentences marked as notes, and sentences the verifier removed, are not statements).
    - A statement is covered (citation recall) when it has at least one citation and
      supports(sentence, all its cited passages) is true.
    - A citation is precise when its statement is covered and either the citation alone supports the
      statement, or removing it from the statement's citations loses support. Citations of statements
      that are not covered are not precise.
    Returns {"statements", "covered", "citations", "precise", "recall", "precision"}; recall is
    covered/statements, precision is precise/citations (None when the denominator is 0).
    """
    n_stmt = covered = n_cit = precise = 0
    for sentence, passages in statements:
        n_stmt += 1
        passages = list(passages)
        n_cit += len(passages)
        if not passages or not supports(sentence, passages):
            continue
        covered += 1
        for i, p in enumerate(passages):
            if len(passages) == 1 or supports(sentence, [p]):
                precise += 1
                continue
            rest = passages[:i] + passages[i + 1:]
            if not supports(sentence, rest):
                precise += 1
    return {"statements": n_stmt, "covered": covered, "citations": n_cit, "precise": precise,
            "recall": covered / n_stmt if n_stmt else None, "precision": precise / n_cit if n_cit else None}


# --- briefings ----------------------------------------------------------------------------------------


def briefing_fact_coverage(facts: Sequence[Sequence[str]], cited_sentences: Sequence[str]) -> float:
    """Share of a briefing's required facts found (fact_present) in its cited factual sentences only:
    a fact stated without a citation, or only in an uncited note, does not count. 1.0 when none required."""
    return fact_recall(facts, "\n".join(cited_sentences))


# --- the verifier's own error rate --------------------------------------------------------------------


def verifier_error_rates(labels: Sequence[bool], predicted: Sequence[bool]) -> dict:
    """Agreement of the verifier with hand labels on (sentence, passage) pairs.

    accuracy = share of pairs where predicted == label; false_accept_rate = share of the pairs labelled
    unsupported that the verifier accepted; false_reject_rate = share of the pairs labelled supported
    that it rejected. Also returns the counts (n, positives, negatives, false_accepts, false_rejects).
    """
    if len(labels) != len(predicted):
        raise ValueError("labels and predictions differ in length")
    pos = sum(1 for y in labels if y)
    neg = len(labels) - pos
    fa = sum(1 for y, p in zip(labels, predicted) if not y and p)
    fr = sum(1 for y, p in zip(labels, predicted) if y and not p)
    n = len(labels)
    return {"n": n, "positives": pos, "negatives": neg, "false_accepts": fa, "false_rejects": fr,
            "accuracy": (n - fa - fr) / n if n else None,
            "false_accept_rate": fa / neg if neg else None,
            "false_reject_rate": fr / pos if pos else None}


# --- latency and averages -----------------------------------------------------------------------------


def latency_summary(seconds: Sequence[float]) -> dict:
    """Latency per case in seconds: mean, p50 and p95 (nearest-rank percentiles) and max."""
    xs = sorted(seconds)
    if not xs:
        return {"n": 0, "mean": None, "p50": None, "p95": None, "max": None}

    def pct(p: float) -> float:
        return xs[max(0, min(len(xs) - 1, math.ceil(p / 100 * len(xs)) - 1))]

    return {"n": len(xs), "mean": round(sum(xs) / len(xs), 4), "p50": round(pct(50), 4),
            "p95": round(pct(95), 4), "max": round(xs[-1], 4)}


def _mean(values: Iterable[float]) -> float:
    xs = [float(v) for v in values]
    if not xs:
        raise ValueError("mean of nothing")
    return sum(xs) / len(xs)


def mean_or_none(values: Iterable[float | None]) -> float | None:
    """The mean of the values that are not None, or None when there are none."""
    xs = [float(v) for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None


# --- briefings: what an analyst notices ---------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")
_FILLER = {"the", "a", "an", "of", "to", "in", "on", "and", "is", "was", "by", "for", "its", "it", "that", "as",
           "with", "according", "reported", "said", "says"}


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(fold(text)) if w not in _FILLER}


def _name_words(text: str) -> set[str]:
    return {fold(w) for w in re.findall(r"\b[A-Z][\w&-]*", text)}


def repeated_facts(sentences: Sequence[str], overlap: float = 0.8) -> list[tuple[str, str]]:
    """Pairs of fact sentences of one briefing that state the same fact: the same folded text, or nearly
    the same words (Jaccard of content words >= `overlap`) with the same dates, unless each names someone
    the other does not (two entities listed the same day: "PROVEN GLORY CAPITAL" / "PROVEN HONOUR CAPITAL").
    Judged on the words alone, independently of the embeddings the briefing merges facts with."""
    out: list[tuple[str, str]] = []
    seen: list[tuple[str, set[str], set, set[str]]] = []
    for s in sentences:
        words, dates, names = _content_words(s), find_dates(s), _name_words(s)
        for t, tw, td, tn in seen:
            union = words | tw
            near = bool(union) and len(words & tw) / len(union) >= overlap and dates == td
            others = bool(names - tn) and bool(tn - names)
            if fold(s) == fold(t) or (near and not others):
                out.append((t, s))
                break
        else:
            seen.append((s, words, dates, names))
    return out


def timeline_sorted(dates: Sequence) -> bool:
    """Are a timeline's event dates in order (None: an entry without a date, which breaks the order)?"""
    return all(d is not None for d in dates) and all(a <= b for a, b in zip(dates, dates[1:]))


# --- prose answers: what the first sentence opens with, every part of a question ----------------------

_AUX = {"is", "are", "was", "were", "am", "do", "does", "did", "has", "have", "had", "can", "could", "will", "would",
        "shall", "should", "may", "might", "must", "isn't", "aren't", "wasn't", "weren't", "doesn't", "don't",
        "didn't", "hasn't", "haven't", "hadn't", "can't", "won't"}
_OPENER = re.compile(r"^[\W_]*(yes|no)\b", re.I)
NOT_STATED = re.compile(
    r"\b(do(es)? not (say|state|mention|give|name|specify|include)|did not (say|state|mention|give|name)|"
    r"(is|are) not (stated|given|mentioned|named|specified)|no (information|mention)|cannot say|can't say|"
    r"not in the sources|sources (do not|don't) (say|cover))\b", re.I)


def is_yes_no_question(question: str) -> bool:
    """A question whose first clause asks for yes or no: its first word is an auxiliary or modal verb
    ("Is X listed?", "Did OFAC ...", "Can the orders be renewed?"). "Which X, and is Y listed?" is not: it
    opens with a wh-word, so its answer must open with the entity, not with Yes/No. Used for cases that do
    not state `yes_no` themselves."""
    words = re.findall(r"[a-z']+", question.lower())
    return bool(words) and words[0] in _AUX


def opens_with_yes_no(answer: str) -> str | None:
    """"yes" or "no" when the answer's first word (after any leading punctuation or markup) is Yes or No,
    case-insensitively; None otherwise ("Nothing ...", "Notably ..." open with neither)."""
    m = _OPENER.match(answer or "")
    return m.group(1).lower() if m else None


def yes_no_opener_on_non_yes_no(yes_no_question: bool, answer: str) -> bool:
    """True when a question that is not a yes/no question gets an answer that opens with Yes or No (the
    issue's target: never)."""
    return not yes_no_question and opens_with_yes_no(answer) is not None


def says_not_stated(text: str) -> bool:
    """True when the answer says the sources do not state something (NOT_STATED: "the sources do not say",
    "is not stated", "no information", "cannot say" ...)."""
    return bool(NOT_STATED.search(text or ""))


def parts_answered(parts: Sequence[dict], text: str) -> list[bool]:
    """For each part of a multi-part question, whether the answer deals with it: a part with `facts`
    (each a list of alternatives, as in fact_present) is answered when every one of its facts is in the
    text; a part marked `not_in_sources` is answered when the text says the sources do not state something
    (says_not_stated)."""
    out = []
    for p in parts:
        if p.get("not_in_sources"):
            out.append(says_not_stated(text))
        else:
            out.append(all(fact_present(f, text) for f in p.get("facts") or []))
    return out


def every_part_answered(parts: Sequence[dict], text: str) -> bool:
    """True when parts_answered holds for every part (a question with no parts: True)."""
    return all(parts_answered(parts, text))
