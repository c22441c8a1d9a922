"""Issue 23, matching quality: the forms people write names in are found against a list entry (a nickname,
a patronymic the list leaves out, a name in Arabic, Hebrew, Korean or Chinese script, a legal form spelled out
in its own language, a name given with its short form in brackets), and a party that only looks alike (another
first name, a company with a legal form of another kind) stays below the threshold."""
from __future__ import annotations

import pytest

from tests.test_screen import _entry, _top


def _screen(listed: str, query: str, kind: str = "organisation"):
    from rag.entities.screen import NameIndex

    return _top(NameIndex([_entry(listed, kind=kind, uid="1")]), query)


def _matched(listed: str, query: str, kind: str = "organisation") -> bool:
    top = _screen(listed, query, kind)
    return top is not None and top.match


@pytest.mark.parametrize("query,listed", [
    ("Jimmy Holloway", "HOLLOWAY, James Arthur"),       # an English short form of the given name
    ("Bill Granger", "GRANGER, William"),
    ("Kate Morrow", "MORROW, Katherine Ann"),
    ("Tolya Verbitsky", "VERBITSKY, Anatoliy Petrovich"),  # a Russian familiar form made from the stem
])
def test_a_nickname_of_the_given_name_is_found(query, listed):
    assert _matched(listed, query, "person"), _screen(listed, query, "person")


@pytest.mark.parametrize("query,listed", [
    ("Jimmy Holloway", "HOLLOWAY, Peter"),              # a short form of another given name
    ("Bill Granger", "GRANGER, Thomas"),
])
def test_a_short_form_of_another_given_name_is_not_a_match(query, listed):
    assert not _matched(listed, query, "person"), _screen(listed, query, "person")


@pytest.mark.parametrize("query,listed", [
    ("Александр Ильич СОКОЛОВ", "Alexander SOKOLOV"),    # the query adds a patronymic the list leaves out
    ("Marta Ilona WIERZBICKA", "Marta WIERZBICKA"),
])
def test_a_name_part_the_list_leaves_out_is_no_other_person(query, listed):
    assert _matched(listed, query, "person"), _screen(listed, query, "person")


def test_one_word_in_common_is_still_no_match():
    assert not _matched("Marta WIERZBICKA", "Ewa Ilona WIERZBICKA", "person")


@pytest.mark.parametrize("query,listed", [
    ("グレフ・ボリス", "GUREV Boris"),                      # katakana: vowels between consonants, r for l
    ("박정호", "PAK Jong Ho"),                            # Hangul: one word for the whole name
])
def test_a_name_in_another_script_is_found(query, listed):
    assert _matched(listed, query, "person"), _screen(listed, query, "person")


@pytest.mark.parametrize("query,listed,kind", [
    ("センドラク", "CENDRAK LLC", "organisation"),          # katakana s for a c before e
    ("وحید نوبری", "NOBARI Vahid", "person"),             # Persian: waw a v first, an o between consonants
    ("رستم الکترونیک", "Rostam Electronic Engineering Co.", "organisation"),  # a generic word left untranslated
    ("塔博林贸易有限公司", "Doberin Trading Co., Ltd.", "organisation"),  # a foreign name sounded in Chinese
    ("គឹម ស៊ុន", "KIM Sun", "person"),                     # Khmer: no trigram in common, the consonants alike
])
def test_a_name_in_another_script_is_found_by_its_sounds(query, listed, kind):
    assert _matched(listed, query, kind), _screen(listed, query, kind)


@pytest.mark.parametrize("query,listed,kind", [
    ("センドラク", "KENDRAK LLC", "organisation"),
    ("وحید نوبری", "NABARI Hamid", "person"),
    ("塔博林贸易有限公司", "Dobrenko Trading Co., Ltd.", "organisation"),
])
def test_a_name_in_another_script_with_other_sounds_is_not_a_match(query, listed, kind):
    assert not _matched(listed, query, kind), _screen(listed, query, kind)


def test_a_name_in_another_script_is_not_a_look_alike():
    assert not _matched("SHAHSAVARI Kamran", "شهسواری بهروز", "person")


def test_a_company_in_chinese_characters_is_found_by_its_pinyin_words():
    assert _matched("Shenzhen Huaqiang Electronics Co., Ltd.", "深圳华强电子有限公司")
    assert not _matched("Shenzhen Meilong Electronics Co., Ltd.", "深圳华强电子有限公司")


@pytest.mark.parametrize("query,listed", [
    ("Marisma Logistica S.L.", 'Sociedad Limitada "Marisma Logistica"'),  # Spanish form spelled out
    ("Акционерное общество «Звездочка» (АО «Звездочка»)", "Zvezdochka JSC"),  # a name with its short form
])
def test_a_legal_form_spelled_out_or_a_bracketed_short_form_is_found(query, listed):
    assert _matched(listed, query), _screen(listed, query)


@pytest.mark.parametrize("query,listed", [
    ("Kestrel Solutions AG", "Kestrel Solutions GmbH"),
    ("Vltava Data s.r.o.", "Vltava Data a.s."),
    ("Orsini Impianti S.r.l.", "Orsini Impianti S.p.A."),
])
def test_legal_forms_of_different_kinds_stay_apart(query, listed):
    top = _screen(listed, query)
    assert top is not None and not top.match and "legal form conflict" in top.normalisations, top


@pytest.mark.parametrize("query,listed", [
    ("Ivan Petrov", "PETROV, Sergey Ivanovich"),          # "Ivan" begins the patronymic, not a given name
    ("Olga Lebedeva", "LEBEDEVA, Oksana"),                 # another name, not a familiar form of it
])
def test_a_patronymic_or_another_given_name_is_not_the_given_name(query, listed):
    assert not _matched(listed, query, "person"), _screen(listed, query, "person")


@pytest.mark.parametrize("query,listed", [
    ("Bashar Haddadin", "HADDADIN, Bushra"),            # two given names that sound alike
    ("Mojtaba Rezaeian", "REZAEIAN, Mostafa"),
    ("Igor Sviridenko", "SVIRIDENKO, Yegor"),
])
def test_another_given_name_that_sounds_alike_is_another_person(query, listed):
    assert not _matched(listed, query, "person"), _screen(listed, query, "person")


@pytest.mark.parametrize("query,listed", [
    ("Sergei Sviridenko", "SVIRIDENKO, Sergey"),        # two spellings of one given name
    ("Yousef Karimi", "KARIMI, Yusef"),                 # or one slip in it
    ("Alejo Ferrandiz Rubio", "FERRANDIZ RUBIO, Alejandro"),  # a familiar form cut from it
])
def test_a_spelling_or_a_familiar_form_of_the_given_name_still_matches(query, listed):
    assert _matched(listed, query, "person"), _screen(listed, query, "person")


@pytest.mark.parametrize("query,listed,kind", [
    ("Karimi MAS", "KARIMI, Mahmoud Al Sayed", "person"),           # initials of every part, "Al" too
    ("Basrawi TBYBO", "BASRAWI, Tariq Ben Yusuf Ben Omar", "person"),
    ("NAIS", "NORTHERN ATLAS INDUSTRIAL SUPPLIES SL", "organisation"),  # an acronym without the legal form
])
def test_initials_with_particles_and_an_acronym_without_the_legal_form_are_found(query, listed, kind):
    assert _matched(listed, query, kind), _screen(listed, query, kind)


def test_initials_of_another_given_name_are_not_a_match():
    assert not _matched("HADDAD, Omar Bin Nasser", "Haddad ABN", "person")


def test_an_acronym_for_some_of_an_organisation_s_words_is_found():
    assert _matched("PARDIS NORTHERN PETROCHEMICAL COMPANY", "Pardis NPC")
    assert not _matched("PARDIS NORTHERN PETROCHEMICAL COMPANY", "Pardis SPC")


def test_a_place_in_brackets_is_no_name_of_the_entry():
    # "Hong Kong" is where the company is, not what it is called: screening the place finds no match.
    assert not _matched("CHINA UNICOM (HONG KONG) LIMITED", "Hong Kong")
    assert _matched("CHINA UNICOM (HONG KONG) LIMITED", "China Unicom Limited")
