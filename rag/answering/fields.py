"""What a question can ask about, read by meaning: each field of the typed list entry (rag.core.models.ListEntry)
and each relation kind, described in a few plain sentences and by what it is called (nouns and states put
into some 30 question frames: about 2,500 examples), and the classifier that finds the example closest to a
clause of a question (the embedding model answers already load). Used by rag/answering/plan.py; measured by
`python -m eval.plan_eval` on questions written by someone who had not seen these examples."""
from __future__ import annotations

import os
import threading

import numpy as np

# --- what a question can ask about ------------------------------------------------------------------
# Each field of the typed list entry (rag.core.models.ListEntry) and each relation kind, described in a few
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

# What each field is called (nouns), and the states a yes/no or "when" question puts the entity in. The
# generator below puts them into many question frames: the classifier reads the field from the meaning of
# the whole clause, and a phrasing it never saw lands near the ones it did.
NOUNS: dict[str, list[str]] = {
    "listed": ["sanctions status", "listing status", "designation status", "sanctions exposure"],
    "programs": ["sanctions program", "sanctions programme", "program code", "regime", "sanctions regime",
                 "legal basis of the listing", "executive order it was designated under", "program tag"],
    "listing_date": ["listing date", "designation date", "date of designation", "date it was added",
                     "date of listing", "day it was sanctioned"],
    "effective_date": ["effective date", "date the restrictions became effective", "start date of the prohibitions",
                       "date the measures apply from", "date the listing became effective"],
    "divestment_date": ["divestment date", "divestment deadline", "deadline to sell its securities",
                        "wind-down date for investors", "date by which holdings must be sold"],
    "birth_date": ["date of birth", "birth date", "birthday", "year of birth", "age", "DOB", "birth year"],
    "birth_place": ["place of birth", "birthplace", "town of birth", "POB", "city it was born in", "native town"],
    "nationality": ["nationality", "citizenship", "country of citizenship", "country it is a citizen of"],
    "identifiers": ["passport number", "tax ID", "registration number", "ID number", "national ID",
                    "IMO number", "SWIFT code", "ISIN", "company number", "identification document", "reg no",
                    "identity card number", "vessel registration"],
    "addresses": ["address", "street address", "head office", "registered office", "location", "headquarters",
                  "postal address", "city and country of its offices"],
    "names": ["other names", "aliases", "a.k.a. names", "former name", "alternative spellings", "trade name",
              "previous names", "names it is also known as"],
    "positions": ["position", "job title", "official role", "occupation", "post", "function", "government office"],
    "remarks": ["reasons for listing", "grounds for designation", "justification for the sanctions",
                "statement of reasons", "why it was listed", "the conduct it was sanctioned for"],
    "measures": ["measures applied", "restrictions imposed", "asset freeze or travel ban", "sanctions measures",
                 "type of restriction"],
    "gender": ["gender", "sex"],
    "links": ["linked entities", "associated organisation", "connection on the list", "affiliated entity",
              "related party named in its entry"],
    "owner": ["owner", "parent company", "controlling shareholder", "main shareholder", "ultimate owner",
              "beneficial owner", "holding company", "shareholders", "stake held in it", "shareholding in it"],
    "subsidiary": ["subsidiaries", "companies it owns", "units it controls", "businesses under it",
                   "holdings", "daughter companies"],
    "supplier": ["supplier", "technology provider", "vendor", "source of its technology", "suppliers"],
    "customer": ["customers", "clients", "buyers of its products", "users of its technology"],
    "change": ["changes to its listing", "removal from the list", "delisting", "amendments to its entry",
               "updates to its record", "status change"],
    "general": ["news", "latest developments", "background", "story", "overview"],
    "other": ["revenue", "share price", "chief executive", "profit", "market value", "number of employees",
              "IPO proceeds", "lawyer", "stock performance", "number of entries added", "fine amount",
              "regulation's requirements", "reason the regulation changed", "annual turnover", "founder"],
}
STATES: dict[str, list[str]] = {
    "listed": ["sanctioned", "designated", "blacklisted", "listed", "on a sanctions list", "under sanctions",
               "subject to sanctions", "blocked", "targeted by sanctions", "on the list"],
    "change": ["removed from the list", "delisted", "taken off the list", "unblocked", "de-listed",
               "amended on the list", "lifted from sanctions"],
    "listing_date": ["designated", "added to the list", "sanctioned", "put on the list", "listed"],
    "effective_date": ["effectively restricted", "subject to the prohibitions in force"],
    "divestment_date": ["required to be divested"],
    "birth_date": ["born"],
}
_NOUN_FRAMES = ["what is its {x}", "{x}?", "{x} of it", "it {x}", "give me the {x} for it",
                "what {x} does the list give for it", "tell me its {x}", "do we have its {x}",
                "which {x} is recorded for it", "I need the {x} of it", "look up its {x}", "what's its {x}",
                "find the {x} in its entry", "can you tell me the {x} of it", "it - {x}"]
_YES_NO_FRAMES = ["is it {x}", "is it still {x}", "has it been {x}", "was it ever {x}", "it {x}?",
                  "tell me whether it is {x}", "check if it is {x}", "did it get {x}"]
_WHEN_FRAMES = ["when was it {x}", "on what date was it {x}", "what day was it {x}", "date it was {x}",
                "since when has it been {x}", "in which year was it {x}"]


def training_texts() -> tuple[list[str], list[str]]:
    """(texts, fields): the descriptions, and the nouns and states put into question frames."""
    pairs: list[tuple[str, str]] = [(d, f) for f, descs in FIELDS.items() for d in descs]
    for f, nouns in NOUNS.items():
        pairs += [(fr.format(x=n), f) for n in nouns for fr in _NOUN_FRAMES]
    for f, states in STATES.items():
        frames = _WHEN_FRAMES if f in DATES else _YES_NO_FRAMES + _WHEN_FRAMES * (f == "change")
        pairs += [(fr.format(x=st), f) for st in states for fr in frames]
    pairs = list(dict.fromkeys(pairs))
    return [t for t, _ in pairs], [f for _, f in pairs]


# --- the field classifier ---------------------------------------------------------------------------

# Below this similarity no example fits: the clause asks about something else (revenue, a share price, a
# regulation), which only passages can answer.
FIELD_FLOOR = 0.42


class FieldClassifier:
    """The field of the nearest of training_texts() by the embedding model's cosine similarity. The
    examples' vectors are computed once per model and cached beside the exported model (a few seconds)."""

    def __init__(self, embedder):
        self.embedder = embedder
        texts, self.fields = training_texts()
        self.labels = sorted(set(self.fields))
        self.vecs = self._vectors(texts)
        self._rows = {lab: np.array([i for i, f in enumerate(self.fields) if f == lab]) for lab in self.labels}

    def _vectors(self, texts: list[str]) -> np.ndarray:
        import hashlib

        from rag.embeddings.export import cache_root

        key = hashlib.sha256(("\n".join(texts) + "\0" + self.embedder.signature).encode()).hexdigest()[:16]
        path = cache_root() / f"fields-{key}.npy"
        if path.exists():
            try:
                vecs = np.load(path)
                if vecs.shape == (len(texts), self.embedder.dimension):
                    return vecs
            except Exception:  # a torn or foreign file: compute again
                pass
        vecs = np.asarray(self.embedder.encode(texts), dtype=np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")
        np.save(tmp, vecs)
        os.replace(tmp, path)
        return vecs

    def scores(self, texts: list[str]) -> list[list[tuple[str, float]]]:
        """Per text: (field, similarity of its nearest example) pairs, best first."""
        if not texts:
            return []
        sims = np.asarray(self.embedder.encode(texts)) @ self.vecs.T
        return [sorted(((lab, float(row[ix].max())) for lab, ix in self._rows.items()), key=lambda x: -x[1])
                for row in sims]

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
