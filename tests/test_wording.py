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
