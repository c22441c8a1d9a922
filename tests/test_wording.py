"""A refusal says what was asked in the asker's words: the question put back in statement order."""
from rag.answering.wording import plain


def test_questions_become_the_object_of_the_sources_do_not_say():
    assert plain("Why did BIS list the two entities under the Emirates destination?") == \
        "why BIS listed the two entities under the Emirates destination"
    assert plain("How many entities did the Entity List rule of 9 April 2021 add?") == \
        "how many entities the Entity List rule of 9 April 2021 added"
    assert plain("What may a US person not do with someone listed under E.O. 13608?") == \
        "what a US person may not do with someone listed under E.O. 13608"
    assert plain("Which company did the agency name as the buyer?") == "which company the agency named as the buyer"
    assert plain("Does the NS-CMIC listing freeze SenseTime's assets?") == \
        "whether the NS-CMIC listing freezes SenseTime's assets"
    assert plain("When was Tuniyaz sanctioned?") == "when Tuniyaz was sanctioned"


def test_stems_are_right_when_many_questions_are_read_at_once():
    """The server answers questions in several threads at once; a stemmer shared between them mixed up the
    words it was given (wrong stems, an IndexError that made an answer fail with HTTP 500)."""
    import sys
    import threading

    import snowballstemmer

    from rag.answering.read import _stem

    words = [f"{a}{n}ations" for a in ("design", "list", "sanction", "evad", "own", "audit") for n in range(2000)]
    expected = {w: snowballstemmer.stemmer("english").stemWord(w) for w in words}
    wrong: list[str] = []

    def read(part: list[str]) -> None:
        for w in part:
            try:
                if _stem.__wrapped__(w) != expected[w]:
                    wrong.append(w)
            except Exception as e:  # the race raised IndexError inside the stemmer
                wrong.append(f"{w}: {type(e).__name__}")

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns often, as under load
    try:
        threads = [threading.Thread(target=read, args=(words[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    assert not wrong, wrong[:5]
