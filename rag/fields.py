"""What a question can ask about, read by meaning: each field of the typed list entry (rag.models.ListEntry)
and each relation kind described in a few plain sentences, and the classifier that finds the description
closest to a clause of a question (the embedding model answers already load). Used by rag/plan.py."""
from __future__ import annotations

import threading

import numpy as np

# --- what a question can ask about ------------------------------------------------------------------
# Each field of the typed list entry (rag.models.ListEntry) and each relation kind, described in a few
# plain sentences. These are descriptions of the field, not lists of trigger words.
FIELDS: dict[str, list[str]] = {
    "listed": ["is it sanctioned or on a sanctions list", "has it been designated or blacklisted",
               "is it still listed or subject to sanctions", "is it still on the list today",
               "does it appear on any sanctions list", "are there sanctions against it"],
    "programs": ["which sanctions program or regime is it listed under", "what is the program code of its listing",
                 "which sanctions programme covers it"],
    "listing_date": ["when was it added to the sanctions list", "on what date was it designated or listed",
                     "since when has it been sanctioned", "when did the authority list it",
                     "what is its designation date", "what is the listing date"],
    "effective_date": ["when did the listing take effect", "what is the effective date of the restrictions",
                       "what effective date is recorded for the listing", "from when do the prohibitions apply",
                       "when did it take effect"],
    "divestment_date": ["by what deadline must investors divest or sell its securities",
                        "what is the divestment date", "until when could investors sell their holdings"],
    "birth_date": ["when was this person born", "what is the person's date of birth or age",
                   "what year was the person born"],
    "birth_place": ["where was this person born", "what is the person's place of birth", "what town is the person from"],
    "nationality": ["what is the person's nationality or citizenship", "which country is the person a citizen of",
                    "what nationality does the list give"],
    "identifiers": ["what identification number is given, such as a passport, registration, tax or ID number",
                    "what ISIN, SWIFT/BIC code, ticker or registration code does the entry give",
                    "what is its equity ticker or securities code", "what is its company registration number"],
    "addresses": ["what address does the entry give", "where is the company located or headquartered",
                  "what street address is recorded"],
    "names": ["what other names or aliases is it known by", "what was its former name, also known as",
              "what other spellings of the name are listed"],
    "positions": ["what position or job does the person hold", "what is the person's official role or title"],
    "remarks": ["why was it sanctioned", "what reasons are given for the listing", "on what grounds was it listed"],
    "measures": ["what measures apply to it, such as an asset freeze or a travel ban", "what measure applies",
                 "what restrictions does the listing impose on it"],
    "gender": ["is the person a man or a woman"],
    "links": ["which organisation is it linked to on the list", "what entity is it associated with",
              "who is it connected to in its list entry"],
    "owner": ["who owns it", "what is its parent company or main shareholder", "who controls it",
              "which group does it belong to"],
    "subsidiary": ["which subsidiaries or companies does it own", "what are its subsidiaries",
                   "which businesses does it control"],
    "supplier": ["whose technology does it use", "who supplies it", "which company provides its technology",
                 "which vendor does it rely on"],
    "customer": ["who are its customers", "who buys its products or technology", "who are its clients"],
    "change": ["what changed in its listing", "was it removed or delisted", "what was updated in its entry",
               "what was amended in its entry", "when will it be removed from the list"],
    # A question about the entity in general: what the passages say about it.
    "general": ["what happened with it", "what did the authority say about it", "tell me about it",
                "what is known about it", "what news is there about it"],
    # Questions about something no list field records: only passages can answer them.
    "other": ["how much money did it raise", "why did it postpone its plans", "what was its revenue or profit",
              "what does the regulation restrict or require", "how many were added", "what was the share price",
              "who is its chief executive or chairman", "which law firm or lawyer represented it"],
}
RELATIONS = {"owner", "subsidiary", "supplier", "customer", "links"}
DATES = {"listing_date", "effective_date", "divestment_date", "birth_date"}
# Below this similarity no description fits: the clause asks about something else (revenue, a share
# price, a regulation), which only passages can answer.
FIELD_FLOOR = 0.42


# --- the field classifier ---------------------------------------------------------------------------

class FieldClassifier:
    """Nearest field description by the embedding model's cosine similarity."""

    def __init__(self, embedder):
        self.embedder = embedder
        self.labels: list[str] = []
        texts: list[str] = []
        for f, descs in FIELDS.items():
            for d in descs:
                self.labels.append(f)
                texts.append(d)
        self.vecs = np.asarray(embedder.encode(texts))

    def scores(self, texts: list[str]) -> list[list[tuple[str, float]]]:
        """Per text: (field, best similarity) pairs, best first."""
        if not texts:
            return []
        q = np.asarray(self.embedder.encode(texts))
        sims = q @ self.vecs.T
        out = []
        for row in sims:
            best: dict[str, float] = {}
            for lab, s in zip(self.labels, row):
                best[lab] = max(best.get(lab, -1.0), float(s))
            out.append(sorted(best.items(), key=lambda x: -x[1]))
        return out

    def classify(self, text: str) -> tuple[str, float]:
        field, score = self.scores([text])[0][0]
        return (field, score) if score >= FIELD_FLOOR else ("other", score)


_classifiers: dict[int, FieldClassifier] = {}
_lock = threading.Lock()


def classifier(embedder) -> FieldClassifier:
    with _lock:
        c = _classifiers.get(id(embedder))
        if c is None or c.embedder is not embedder:
            c = _classifiers[id(embedder)] = FieldClassifier(embedder)
        return c
