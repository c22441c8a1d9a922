"""Which of the ranked sentences an answer shows (rag.answering.read.pick), with the real embedding model."""
from __future__ import annotations

from rag.answering.evidence import Evidence
from rag.answering.read import pick
from rag.core.models import SearchResult

# Two notices of one day, worded alike, each publishing other general licences (our own wording of the
# pattern of Federal Register notices 2022-11471 and 2022-11473).
GL_A = ("OFAC is publishing two general licenses in the Ukraine-related program: GL 13Q, which has expired, "
        "and GL 13R, which expires on May 25, 2022.")
GL_B = ("OFAC is publishing two general licenses in the Ukraine-related program: GL 15K, which has expired, "
        "and GL 15L, which expires on May 25, 2022.")
GL_A_AGAIN = ("OFAC publishes two general licenses in the Ukraine-related program: GL 13Q, which has expired, "
              "and GL 13R, which expires on May 25, 2022.")


def evidence(text: str, doc: str, score: float) -> Evidence:
    result = SearchResult(chunk_id=f"{doc}#0", doc_id=doc, text=text, score=score, title=doc, source=doc,
                          doc_type="notice")
    return Evidence(text, result, 0, len(text), score)


def test_sentences_worded_alike_with_other_numbers_are_two_facts(embedder):
    shown = pick([evidence(GL_A, "fr-a", 0.9), evidence(GL_B, "fr-b", 0.8)], embedder, 3)
    assert [e.text for e in shown] == [GL_A, GL_B]


def test_a_sentence_that_repeats_a_shown_one_is_left_out(embedder):
    shown = pick([evidence(GL_A, "fr-a", 0.9), evidence(GL_A_AGAIN, "fr-c", 0.8)], embedder, 3)
    assert [e.text for e in shown] == [GL_A]
