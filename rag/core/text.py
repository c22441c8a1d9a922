"""Small text utilities shared by the chunker, the answerer and the verifier."""
from __future__ import annotations

import re

# Abbreviations that end with a period but do not end a sentence in this domain's text.
_ABBREVIATIONS = {
    "co", "corp", "inc", "ltd", "llc", "plc", "no", "nos", "u.s", "u.k", "e.u", "u.n", "st", "mr", "mrs",
    "ms", "dr", "jr", "sr", "vs", "etc", "e.g", "i.e", "art", "arts", "para", "paras", "sec", "fig", "jan",
    "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "a.k.a", "f.k.a", "n.k.a",
    "approx", "dept", "gov", "govt", "intl", "s.a", "s.r.l", "gmbh", "c.r", "r", "reg", "p", "pp", "op",
    "cf", "al", "ca", "v",
}
_BOUNDARY = re.compile(r"([.!?;])([\"'”’)\]]*)(\s+|$)|\n\s*\n|\n(?=\s*(?:[-*•]|\d+[.)]|\([a-z0-9]+\))\s)")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Character spans of the sentences in text[start:end], whitespace trimmed.

    A rule-based splitter: ends at . ! ? (and ; inside long list remarks) followed by space, at blank
    lines, and before bulleted or numbered lines; it does not split after common abbreviations
    (Co., Ltd., No., U.S.) or inside numbers (10.5), so cited spans stay whole.
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for m in _BOUNDARY.finditer(text, start, end):
        if m.group(1):
            line_end = "\n" in (m.group(3) or "")  # one sentence per line: a line end after . ends it
            if m.group(1) == ";" and m.start() - cursor < 200:
                continue  # only split very long semicolon runs (list remarks)
            word = re.search(r"([\w.]+)$", text[cursor : m.start()])
            if m.group(1) == "." and word and not line_end:
                w = word.group(1).lower()
                if w in _ABBREVIATIONS or (len(w) == 1 and w.isalpha()) or re.fullmatch(r"(?:[a-z]\.)+[a-z]", w):
                    continue
            if m.group(1) == "." and m.end() < end and text[m.end() : m.end() + 1].islower():
                continue  # "... Co. ltd" style or mid-sentence period
            cut = m.end(2) if m.group(2) else m.end(1)
        else:
            cut = m.start()
        _append_trimmed(text, cursor, cut, spans)
        cursor = m.end()
    _append_trimmed(text, cursor, end, spans)
    return spans


def _append_trimmed(text: str, a: int, b: int, out: list[tuple[int, int]]) -> None:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if b > a:
        out.append((a, b))


def statement_spans(text: str, min_chars: int = 25) -> list[tuple[int, int]]:
    """Sentence spans that can be stated as evidence: no headings, no fragments."""
    return [(a, b) for a, b in sentence_spans(text) if b - a >= min_chars and not text[a:b].startswith("#")]


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


_WORD = re.compile(r"[\w][\w\-']*", re.UNICODE)

STOPWORDS = frozenset(
    """a an and are as at be been being but by can could did do does for from had has have how i if in
    into is it its may might must of on or our shall should so than that the their them then there these
    they this those to under upon was we were what when where which while who whom whose why will with
    would you your any all also about after before between both each other such""".split()
)


def keywords(text: str) -> list[str]:
    """Lower-cased content words of a query, stopwords removed, order kept, no repeats."""
    seen: dict[str, None] = {}
    for w in _WORD.findall(text.lower()):
        w = w.strip("-'")
        if w and w not in STOPWORDS and w not in seen:
            seen[w] = None
    return list(seen)


# Text that addresses the answering system instead of stating a fact: prompt injection. Each line is one
# generic form (not one attack): instructions to drop earlier ones, chat-template and role markers, text
# addressed to AI models or tools, orders about what to answer, requests to leak or to refuse. Checked
# for false alarms against every clean document of ../shared/data (tests/test_injection.py).
_AI = r"(?:ai|a\.i\.|llms?|gpt|chatbots?|(?:ai |language |llm )models?|(?:ai )?assistants?|summari[sz]ers?" \
      r"|automated (?:compliance )?(?:tools?|systems?|readers?|summari[sz]ers?))"
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget)\b[^.]{0,40}\b(instructions?|rules|prompts?|guidelines|passages)\b"
    r"|\boverride\b[^.]{0,40}\b(instructions?|prompts?)\b"
    r"|\b(system|assistant|developer)\s+(notice|prompt|message|instruction|policy)s?\b"
    r"|\byou (must|should|are required to) (now )?(answer|say|state|reply|respond)\b"
    r"|\b(answer|reply|respond|state) (only )?(that|with)\b.{0,80}\b(regardless|no matter)\b"
    r"|\bas an ai\b|\bnew instructions?\b|\bdeveloper mode\b|\byou are now\b|\bbefore answering\b"
    r"|\b(system|admin(istrator)?)\s+(override|notice|prompt|message|instruction|update)s?\b"
    r"|\bfor (ai|llm) (assistants?|models?|systems?|agents?)\b"
    r"|\bwhen (you are )?asked (about|whether|if|for|when|what|who|which|how)\b[^.]{0,80}\b(answer|say|reply|respond|state)\b"
    r"|<\|(im_start|im_end|system|user|assistant)\|>|\[/?(inst|system|assistant)\]|<<\s*sys\s*>>"
    r"|\"role\"\s*:\s*\"(system|assistant|developer)\""
    r"|^\s*#{1,6}\s*(system|instructions?)\b"
    rf"|\b(dear|attention|hey|hello|note to|notice to|to all)\s+(the\s+)?{_AI}\b"
    rf"|\bif you are an? {_AI}\b"
    rf"|\b{_AI},? (reading|summari[sz]ing|processing|parsing|answering) (this|these|the following)\b"
    rf"|\b{_AI}\s+(must|should|shall|are required to|are instructed to)\s+(now\s+)?(report|say|state|tell|answer|reply"
    r"|respond|output|print|append|cite|treat|refuse|repeat|mention|include|claim)\b"
    r"|\brespond to (any|every|all) (question|query|request|prompt)s?\b"
    r"|\bcite this (passage|page|document|text|post)\b"
    r"|\b(print|reveal|show|output|repeat) (your|the) (system )?(prompt|instructions|configuration)\b"
    r"|\bignorier\w* (alle )?(vorherigen|bisherigen|obigen) anweisungen\b"
    r"|\bignor(e[zr]?|a) (toutes |todas )?(les |las )?(instructions|instrucciones) (pr[eé]c[eé]dentes|anteriores)\b"
    r"|\bnew task\b|\bpretend (you are|to be)\b|\btell the user\b|\bend of (document|text|context)\b"
    r"|\byour (configuration|instructions|system prompt|guidelines|programming)\b|</?(system|instructions?|prompt)>"
    r"|\b(hidden|secret) (message|instruction)s?\b",
    re.I | re.M,
)
# A sentence that names an AI reader and gives an order about what to say, in any words: the second,
# looser rule (both must occur in one sentence).
_ADDRESSEE = re.compile(
    r"\b(ai|a\.i\.|llms?|gpt[\w-]*|chatbots?|bots?|language models?|ai (models?|assistants?|systems?|tools?)"
    r"|summari[sz](ation|ing|er)s? (engines?|tools?|systems?|models?)|summari[sz]ers?|answering (engines?|systems?)"
    r"|assistants?(?! (secretary|director|attorney|commissioner|administrator|general|manager|treasurer)))\b",
    re.I)
_ORDER = re.compile(
    r"\b(say|says|tell|answer|respond|reply|output|print|describe|confirm|claim|ignore|disregard|pretend|treat"
    r"|repeat|append|mention|directed to|instructed to)\b", re.I)


def looks_like_instruction(sentence: str) -> bool:
    """Text in a document that addresses the answering system instead of stating a fact (prompt
    injection). Such sentences are never used as evidence or shown to a model."""
    return bool(_INSTRUCTION.search(sentence) or (_ADDRESSEE.search(sentence) and _ORDER.search(sentence)))


def instruction_snippets(text: str, limit: int = 3) -> list[str]:
    """Up to `limit` sentences of `text` that look like instructions to the answering system."""
    if not _INSTRUCTION.search(text) and not (_ADDRESSEE.search(text) and _ORDER.search(text)):
        return []
    found = []
    for a, b in sentence_spans(text):
        if looks_like_instruction(text[a:b]):
            found.append(" ".join(text[a:b].split())[:200])
            if len(found) == limit:
                break
    m = _INSTRUCTION.search(text)
    return found or ([" ".join(text[m.start():m.start() + 200].split())] if m else [])
