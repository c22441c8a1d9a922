"""The format parsers on the real files in ../shared/data, and on broken or hostile input.

Whole real files are parsed once per module (fixtures); small article and broken files are
written to tmp_path. Nothing from ../shared/data is copied into the repository.
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import formats
from ingest.formats import (
    FormatError,
    article_html,
    article_pdf,
    article_text,
    detect,
    eu_oj_csv,
    federal_register,
    ftm_json,
    obliqa_json,
    ofac_changelog_csv,
    ofac_sdn_csv,
    ofac_xml,
    uk_ofsi_csv,
)
from ingest.formats._common import make_doc_id, parse_date
from rag.core.legacy_entry import entry_from_legacy

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OFAC = DATA / "ofac"
SDN_2024 = OFAC / "sdn_2024-05-03.csv"
CONS_2025 = OFAC / "consolidated_nonSDN_2025-06-30.xml"
CHANGELOG = OFAC / "sdn_changelog_2021-08-18_to_2024-05-03.csv"
FR = DATA / "federal_register" / "fr_sanctions_export_controls_abstracts.jsonl"
EU_HR = DATA / "eu" / "consolidated" / "32020R1998.csv"
EU_AMENDMENT = DATA / "eu" / "amendments" / "32026R1848.csv"
UK = DATA / "uk" / "ConList_excerpt_2020.csv"
ZALA = DATA / "opensanctions" / "yente_fixtures" / "zala" / "entities.ftm.json"
OBLIQA_1 = DATA / "obliqa" / "StructuredRegulatoryDocuments" / "1.json"

pytestmark = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not available")


def by(docs, key, value):
    found = [d for d in docs if d.metadata.get(key) == value]
    assert found, f"no document with {key}={value!r}"
    return found[0]


# --------------------------------------------------------------------------- whole real files


@pytest.fixture(scope="module")
def sdn_docs():
    return list(ofac_sdn_csv.parse(SDN_2024))


@pytest.fixture(scope="module")
def cons_docs():
    return list(ofac_xml.parse(CONS_2025))


@pytest.fixture(scope="module")
def changelog_docs():
    return list(ofac_changelog_csv.parse(CHANGELOG))


@pytest.fixture(scope="module")
def zala_docs():
    return list(ftm_json.parse(ZALA))


# --------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    "path, name",
    [
        (SDN_2024, "ofac_sdn_csv"),
        (OFAC / "sdn_2021-12-10.csv", "ofac_sdn_csv"),
        (OFAC / "cons_prim.csv", "ofac_sdn_csv"),
        (CONS_2025, "ofac_xml"),
        (OFAC / "consolidated_nonSDN_2024-05-06.xml", "ofac_xml"),
        (CHANGELOG, "ofac_changelog_csv"),
        (EU_HR, "eu_oj_csv"),
        (EU_AMENDMENT, "eu_oj_csv"),
        (UK, "uk_ofsi_csv"),
        (FR, "federal_register"),
        (ZALA, "ftm_json"),
        (DATA / "opensanctions" / "yente_fixtures" / "t1" / "entities.ftm.json", "ftm_json"),
        (OBLIQA_1, "obliqa_json"),
        (DATA / "obliqa" / "StructuredRegulatoryDocuments" / "40.json", "obliqa_json"),
        (DATA / "SOURCES.md", "article_text"),
    ],
)
def test_detect_real_files(path, name):
    assert detect(path).NAME == name


@pytest.mark.parametrize(
    "path",
    [
        DATA / "obliqa" / "ObliQA_dev.json",  # questions, not regulatory passages
        OFAC / "cons_add.csv",  # OFAC address table: not a list of entries
        OFAC / "derived_ns_cmic_entries_2025-06-30.csv",
    ],
)
def test_detect_refuses_files_of_no_known_format(path):
    with pytest.raises(FormatError) as err:
        detect(path)
    assert path.name in str(err.value)


def test_detect_every_eu_and_obliqa_file():
    eu = sorted((DATA / "eu").glob("*/*.csv"))
    obliqa = sorted((DATA / "obliqa" / "StructuredRegulatoryDocuments").glob("*.json"))
    assert len(eu) > 40 and len(obliqa) == 40
    assert {detect(p).NAME for p in eu} == {"eu_oj_csv"}
    assert {detect(p).NAME for p in obliqa} == {"obliqa_json"}


def test_registry_modules_expose_the_interface():
    for name, module in formats.formats().items():
        assert module.NAME == name
        assert module.EXTENSIONS and all(e.startswith(".") for e in module.EXTENSIONS)
        assert callable(module.sniff) and callable(module.parse)
        assert module.sniff(Path("x.bin"), b"") is False  # never raises, even on nothing


# --------------------------------------------------------------------------- OFAC


def test_sdn_csv_one_document_per_row(sdn_docs):
    rows = SDN_2024.read_bytes().count(b"\n")  # 14,965 rows; the \x1a EOF line has no newline
    assert rows == 14965
    assert len(sdn_docs) == rows
    assert len({d.doc_id for d in sdn_docs}) == len(sdn_docs)
    assert all(d.doc_type == "list_entry" and d.single_chunk and d.jurisdiction == "US" for d in sdn_docs)
    assert all(d.date == dt.date(2024, 5, 3) for d in sdn_docs)  # the list date, from the file name


def test_sdn_csv_aliases_from_remarks(sdn_docs):
    bnc = by(sdn_docs, "uid", "306")
    assert bnc.title == "BANCO NACIONAL DE CUBA"
    assert bnc.metadata["aliases"] == ["BNC"]
    assert bnc.metadata["programs"] == ["CUBA"]
    assert bnc.metadata["list"] == "SDN"
    assert bnc.metadata["entity_type"] == "entity"
    assert bnc.metadata["list_published"] == "2024-05-03"
    assert bnc.text.startswith("BANCO NACIONAL DE CUBA (a.k.a. BNC), entity, program CUBA (OFAC SDN list)")
    assert bnc.doc_id == make_doc_id(SDN_2024, "306")
    assert bnc.doc_id.startswith("sdn-2024-05-03~") and bnc.doc_id.endswith(":306")

    vessel = by(sdn_docs, "uid", "4243")  # EBANO: f.k.a. names, vessel columns
    assert vessel.metadata["former_names"] == ["ANA I", "SAND SWAN"]
    assert vessel.metadata["entity_type"] == "vessel"
    assert vessel.metadata["vessel"]["flag"] == "Panama"

    bank = by(sdn_docs, "uid", "4632")  # several programs, "Linked To:" with parentheses
    assert bank.metadata["programs"] == ["IRAN", "SDGT", "IRGC", "IFSR"]
    assert bank.metadata["linked_to"] == ["ISLAMIC REVOLUTIONARY GUARD CORPS (IRGC)-QODS FORCE", "HIZBALLAH"]

    # A name with an apostrophe inside the quotes.
    assert by(sdn_docs, "uid", "3754").metadata["aliases"] == ["ABU-'UMAR"]


def test_sdn_doc_ids_stable_across_reparse(sdn_docs):
    again = list(itertools.islice(ofac_sdn_csv.parse(SDN_2024), 50))
    assert [d.doc_id for d in again[:50]] == [d.doc_id for d in sdn_docs[:50]]
    assert [d.hash() for d in again[:50]] == [d.hash() for d in sdn_docs[:50]]


def test_consolidated_xml_entries(cons_docs):
    assert len(cons_docs) == 443
    assert len({d.doc_id for d in cons_docs}) == 443
    lists = {d.metadata["list"] for d in cons_docs}
    assert {"NS-CMIC", "SSI", "NS-PLC", "NS-MBS"} <= lists
    assert "SDN" not in lists


def test_consolidated_xml_sensetime(cons_docs):
    st = by(cons_docs, "uid", "33114")
    assert st.title == "SENSETIME GROUP LIMITED"
    m = st.metadata
    assert m["programs"] == ["CMIC-EO13959"]
    assert m["list"] == "NS-CMIC"
    assert m["listing_date"] == "2021-12-10"
    assert m["effective_date"] == "2022-02-08"
    assert m["divestment_date"] == "2022-12-10"
    assert m["aliases"] == ["SENSETIME GROUP LTD"]
    assert m["entity_type"] == "entity"
    assert m["identifiers"] == ["C.R. No.: 2162198 (Hong Kong)"]
    assert m["list_published"] == "2025-06-30"
    assert st.date == dt.date(2021, 12, 10)
    assert (st.doc_type, st.jurisdiction, st.publisher, st.single_chunk) == ("list_entry", "US", "OFAC", True)
    # Key facts first, in the words an analyst would search for.
    assert st.text.startswith(
        "SENSETIME GROUP LIMITED (a.k.a. SENSETIME GROUP LTD), entity, program CMIC-EO13959 "
        "(OFAC NS-CMIC list), listed 10 Dec 2021, effective 08 Feb 2022, divestment date 10 Dec 2022."
    )
    assert "Harbour View" in st.text
    json.dumps(m)  # metadata is JSON-serialisable


def test_consolidated_xml_other_ns_cmic_dates(cons_docs):
    listed = {d.title: d.metadata.get("listing_date") for d in cons_docs if d.metadata["list"] == "NS-CMIC"}
    assert len(listed) == 68
    assert listed["MEGVII TECHNOLOGY LIMITED"] == "2021-12-16"
    assert listed["SZ DJI TECHNOLOGY CO., LTD."] == "2021-12-16"
    assert listed["HUAWEI TECHNOLOGIES CO., LTD."] == "2021-06-03"
    # An entry without a listing date falls back to the list's publish date.
    plc = next(d for d in cons_docs if d.metadata["list"] == "NS-PLC")
    assert "listing_date" not in plc.metadata and plc.date == dt.date(2025, 6, 30)


def test_changelog_rows(changelog_docs):
    assert len(changelog_docs) == 8862
    first = changelog_docs[0]
    assert first.doc_type == "notice" and first.single_chunk and first.jurisdiction == "US"
    assert first.date == dt.date(2021, 8, 20)
    m = first.metadata
    assert (m["change"], m["ent_num"], m["sdn_name"], m["programs"]) == (
        "added", "33051", "JIMENEZ GONZALEZ, Abelardo", ["GLOMAG"])
    assert m["observed_at"] == "2021-08-20T01:38:11+00:00"
    assert first.text.startswith("OFAC SDN list change observed 2021-08-20: added JIMENEZ GONZALEZ, Abelardo, individual")
    assert first.doc_id.endswith(":1")
    modified = next(d for d in changelog_docs if d.metadata["change"] == "modified")
    assert modified.metadata["changed_fields"] == ["Program"]
    konstanta = by(changelog_docs, "ent_num", "33016")
    assert konstanta.metadata["aliases"] == ["CONSTANTA", "KONSTANTA"]
    added_10_dec = [d for d in changelog_docs
                    if d.metadata["change"] == "added" and d.date in (dt.date(2021, 12, 10), dt.date(2021, 12, 11))]
    assert len(added_10_dec) >= 25


# --------------------------------------------------------------------------- notices, EU, UK


def test_federal_register_records():
    docs = list(federal_register.parse(FR))
    assert len(docs) == 1002
    d = by(docs, "document_number", "2023-10774")
    assert d.title.startswith("Implementation of Additional Sanctions Against Russia and Belarus")
    assert d.text.startswith(d.title + "\n\n") and "Crimea region" in d.text
    assert d.date == dt.date(2023, 5, 23)
    assert d.url and d.url.startswith("https://www.federalregister.gov/documents/2023/05/23/2023-10774/")
    assert (d.doc_type, d.jurisdiction, d.publisher, d.single_chunk) == ("notice", "US", "Federal Register", True)


def test_eu_reasons_text():
    docs = list(eu_oj_csv.parse(EU_HR))
    assert len(docs) == 177
    assert len({d.doc_id for d in docs}) == 177  # record ids repeat across annexes
    d = by(docs, "record_id", "1")
    m = d.metadata
    assert m["celex"] == "32020R1998" and m["program"] == "EU-HR" and m["annex"] == "I.A"
    assert m["measure"] == "Asset freeze" and m["schema"] == "Person"
    assert m["start_date"] == "2021-03-02" and m["start_date_text"] == "2.3.2021"
    assert m["name"] == "Alexander (Alexandr) Petrovich KALASHNIKOV"
    assert m["aliases"] == ["Aлександр Петрович КАЛАШНИКОВ"]
    assert "Federal Penitentiary Service" in m["reason"]
    assert "Reasons: Alexander Kalashnikov was the director of the Russian Federal Penitentiary Service" in d.text
    assert d.text.startswith("Alexander (Alexandr) Petrovich KALASHNIKOV (a.k.a. ")
    assert d.date == dt.date(2021, 3, 2)
    assert (d.jurisdiction, d.publisher, d.doc_type) == ("EU", "EU Official Journal", "list_entry")
    assert d.url.endswith("CELEX:32020R1998")


def test_eu_amendment_file():
    docs = list(eu_oj_csv.parse(EU_AMENDMENT))
    assert len(docs) == 157 and len({d.doc_id for d in docs}) == 157
    m = docs[0].metadata
    assert m["celex"] == "32026R1848" and m["amended_celex"] == "32014R0833"


def test_uk_ofsi_groups_rows_by_group_id():
    docs = list(uk_ofsi_csv.parse(UK))  # Windows-1252 file, header with a leading empty column
    assert 30 < len(docs) < 77
    abbas = by(docs, "group_id", "13814")
    assert abbas.title == "Yasser Aziz ABBAS"  # the "Prime Alias" row
    assert "Yaser Aziz ABAS" in abbas.metadata["aliases"]
    assert abbas.metadata["regime"] == "Syria"
    assert abbas.date == dt.date(2020, 2, 17)  # 17/02/2020: day first
    assert (abbas.jurisdiction, abbas.publisher, abbas.doc_type) == ("UK", "UK OFSI", "list_entry")
    battalion = by(docs, "group_id", "13222")
    assert "\u2019" in battalion.text  # cp1252 quotes decoded, not mangled


# --------------------------------------------------------------------------- FtM, ObliQA


def test_ftm_zala_ownership_links(zala_docs):
    assert len({d.doc_id for d in zala_docs}) == len(zala_docs)
    schemas = {d.metadata["schema"] for d in zala_docs}
    assert {"Company", "Person", "Sanction", "Ownership", "Directorship", "Family"} <= schemas
    assert not schemas & {"Address", "Passport"}  # folded into the entities that use them

    owns_51 = next(d for d in zala_docs if d.metadata["schema"] == "Ownership" and d.metadata.get("percentage") == "51")
    assert owns_51.text.startswith("Alexander Vyacheslavovich ZAKHAROV owns 51% of LLC CST")
    link = owns_51.metadata["links"][0]
    assert link["owner"] == "NK-aU5ybkbRFJucf8YMwsJvDw" and link["asset"] == "NK-abdzbEBkqyT29GyREbiURZ"
    assert link["owner_caption"] == "Alexander Vyacheslavovich ZAKHAROV" and link["asset_caption"] == "LLC CST"
    assert link["start_date"] == "2015-11-25"

    director = next(d for d in zala_docs if d.metadata["schema"] == "Directorship"
                    and d.metadata.get("role") == "Leader or official of")
    assert director.text == "Alexander Vyacheslavovich ZAKHAROV is Leader or official of LLC CST."

    cst = by(zala_docs, "id", "NK-abdzbEBkqyT29GyREbiURZ")
    assert cst.title == "LLC CST" and cst.metadata["sanctioned"] is True
    assert "Zala Aero Group" in cst.metadata["aliases"]
    assert "JSC Kalashnikov Concern owns 49% of LLC CST" in cst.text
    assert any(r["schema"] == "Ownership" for r in cst.metadata["relations"])
    assert "US-RUSHAR" in by(zala_docs, "id", "NK-aU5ybkbRFJucf8YMwsJvDw").metadata["programs"]
    json.dumps([d.metadata for d in zala_docs])


def test_ftm_sanction_entities(zala_docs):
    sanctions = [d for d in zala_docs if d.metadata["schema"] == "Sanction"]
    assert len(sanctions) == 41
    us = [d for d in sanctions if d.jurisdiction == "US"]
    assert us and all(d.metadata["country"] == "us" for d in us)
    assert all(d.metadata["entity"] for d in sanctions)
    au = by(sanctions, "id", "au-dfat-56600015954691cece058c2a3b0e3b27740701e6")
    assert au.text.startswith("LLC CST sanctioned by Department of Foreign Affairs and Trade (Australia), program AU-RUSSIA, since 24 Feb 2023.")
    assert au.jurisdiction is None and au.date == dt.date(2023, 2, 24)


# --------------------------------------------------------------------------- typed list entries


def test_sdn_csv_typed_entry(sdn_docs):
    e = by(sdn_docs, "uid", "4243").entry  # EBANO: a vessel with former names
    assert (e.uid, e.name, e.entity_type, e.source_type) == ("4243", "EBANO", "vessel", "vessel")
    assert e.names_of("fka") == ["ANA I", "SAND SWAN"]
    assert (e.list, e.issuer, e.jurisdiction, e.list_published) == ("SDN", "OFAC", "US", dt.date(2024, 5, 3))
    bank = by(sdn_docs, "uid", "4632").entry
    assert bank.programs == ["IRAN", "SDGT", "IRGC", "IFSR"]
    assert [(x.relation, x.object) for x in bank.links] == [
        ("Linked To", "ISLAMIC REVOLUTIONARY GUARD CORPS (IRGC)-QODS FORCE"), ("Linked To", "HIZBALLAH")]
    # A person: aliases with their kind, birth, nationality and identifiers, from the Remarks.
    p = by(sdn_docs, "uid", "6905").entry
    assert (p.name, p.entity_type, p.programs, p.gender) == ("HUSAYN, Zayn al-Abidin Muhammad", "person", ["SDGT"],
                                                             "Male")
    assert [(n.name, n.kind) for n in p.names[1:]] == [("ABU ZUBAIDA", "aka"), ("ABU ZUBAYDAH", "aka")]
    assert (p.birth_dates, p.birth_places, p.nationalities) == (["12 Mar 1971"], ["Riyadh, Saudi Arabia"],
                                                                ["Palestinian"])
    assert [(i.type, i.number, i.country) for i in p.identifiers] == [("Passport", "484824", "Egypt")]
    havin = next(d.entry for d in sdn_docs if d.title == "HAVIN BANK LIMITED")
    assert [(i.type, i.number, i.country) for i in havin.identifiers] == [
        ("SWIFT/BIC", "HAVIGB2L", None), ("Company Number", "01074897", "United Kingdom")]


def test_consolidated_xml_typed_entry(cons_docs):
    st = by(cons_docs, "uid", "33114")
    e = st.entry
    assert (e.name, e.list, e.lists, e.programs) == ("SENSETIME GROUP LIMITED", "NS-CMIC", ["NS-CMIC"], ["CMIC-EO13959"])
    assert [(n.name, n.kind) for n in e.names] == [("SENSETIME GROUP LIMITED", "primary"), ("SENSETIME GROUP LTD", "aka")]
    assert (e.listing_date, e.effective_date, e.divestment_date) == (
        dt.date(2021, 12, 10), dt.date(2022, 2, 8), dt.date(2022, 12, 10))
    assert (e.list_published, e.entity_type, e.issuer) == (dt.date(2025, 6, 30), "organisation", "OFAC")
    assert [(i.type, i.number, i.country) for i in e.identifiers] == [("C.R. No.", "2162198", "Hong Kong")]
    assert e.countries == ["China"] and "Harbour View" in e.addresses[0]
    json.loads(st.model_dump_json())  # the entry is stored as JSON with its document


def test_eu_typed_entry():
    d = by(list(eu_oj_csv.parse(EU_HR)), "record_id", "4")
    e = d.entry
    assert (e.uid, e.name, e.entity_type, e.source_type) == ("4", "Viktor Vasilievich (Vasilyevich) ZOLOTOV", "person",
                                                            "Person")
    assert (e.list, e.programs, e.issuer, e.jurisdiction) == ("EU-HR", ["EU-HR"], "EU Official Journal", "EU")
    assert e.measures == ["Asset freeze"]
    assert e.listing_date == dt.date(2021, 3, 2) and e.birth_dates == ["27.1.1954"]
    assert e.names_of("aka") == ["Виктор Васильевич ЗОЛОТОВ"] and e.nationalities == ["Russian"]
    assert [(i.type, i.number) for i in e.identifiers] == [("ID number", "770600283509")]
    assert "Rosgvardia" in e.remarks


def test_uk_typed_entry_grouped_by_group_id():
    docs = list(uk_ofsi_csv.parse(UK))
    e = by(docs, "group_id", "13814").entry
    assert (e.uid, e.name, e.entity_type, e.programs) == ("13814", "Yasser Aziz ABBAS", "person", ["Syria"])
    assert "Yaser Aziz ABAS" in e.names_of("aka") and len(e.all_names()) == len(set(e.all_names()))
    assert (e.listing_date, e.list, e.issuer, e.jurisdiction) == (dt.date(2020, 2, 17), "UK OFSI consolidated",
                                                                 "UK OFSI", "UK")
    q = by(docs, "group_id", "13349").entry
    assert q.birth_dates == ["00/00/1980", "00/00/1981"] and q.birth_places == ["Saudi Arabia"]
    assert q.identifiers[0].type == "passport" and "592667" in q.identifiers[0].number


def test_ftm_typed_entries(zala_docs):
    cst = by(zala_docs, "id", "NK-abdzbEBkqyT29GyREbiURZ").entry
    assert (cst.record, cst.name, cst.entity_type, cst.sanctioned) == ("entity", "LLC CST", "company", True)
    assert "Zala Aero Group" in cst.names_of("aka") and cst.programs
    owners = {(x.subject, x.percentage) for x in cst.links if x.relation == "Ownership"}
    assert ("JSC Kalashnikov Concern", "49") in owners
    rel = next(d.entry for d in zala_docs if d.metadata["schema"] == "Ownership" and d.metadata.get("percentage") == "51")
    assert rel.record == "relation"
    [link] = rel.links
    assert (link.subject, link.subject_id, link.object, link.object_id, link.start_date) == (
        "Alexander Vyacheslavovich ZAKHAROV", "NK-aU5ybkbRFJucf8YMwsJvDw", "LLC CST", "NK-abdzbEBkqyT29GyREbiURZ",
        "2015-11-25")
    au = by(zala_docs, "id", "au-dfat-56600015954691cece058c2a3b0e3b27740701e6").entry
    assert (au.record, au.name, au.programs, au.listing_date) == ("sanction", "LLC CST", ["AU-RUSSIA"],
                                                                  dt.date(2023, 2, 24))
    assert au.authorities == ["Department of Foreign Affairs and Trade"] and au.links[0].object == "LLC CST"


def test_changelog_notice_names_its_entry(changelog_docs):
    e = changelog_docs[0].entry
    assert (e.change, e.uid, e.name, e.entity_type, e.programs) == (
        "added", "33051", "JIMENEZ GONZALEZ, Abelardo", "person", ["GLOMAG"])
    assert by(changelog_docs, "ent_num", "33016").entry.names_of("aka") == ["CONSTANTA", "KONSTANTA"]
    assert {d.entry.change for d in changelog_docs} == {"added", "removed", "modified"}


# The fields the previous release kept in metadata: the converter must give what the parser gives.
LEGACY_FIELDS = ("uid", "record", "entity_type", "list", "lists", "issuer", "authorities", "jurisdiction", "programs",
                 "measures", "sanctioned", "listing_date", "effective_date", "divestment_date", "end_date",
                 "list_published", "last_updated", "birth_dates", "addresses", "links")


@pytest.mark.parametrize("module, path", [
    (ofac_xml, CONS_2025), (ofac_sdn_csv, OFAC / "sdn_2021-12-10.csv"), (eu_oj_csv, EU_HR),
    (eu_oj_csv, EU_AMENDMENT), (uk_ofsi_csv, UK), (ftm_json, ZALA),
])
def test_legacy_converter_agrees_with_the_parsers(module, path):
    for d in module.parse(path):
        old = entry_from_legacy(d.metadata, d.title, d.publisher, d.date, d.jurisdiction)
        for f in LEGACY_FIELDS:
            assert getattr(old, f) == getattr(d.entry, f), (d.title, f)
        assert old.all_names() == d.entry.all_names(), d.title
        if module is not ofac_sdn_csv:  # the CSV's identifiers were not kept in metadata before
            assert {str(i) for i in old.identifiers} <= {str(i) for i in d.entry.identifiers}, d.title


def test_legacy_converter_on_a_previous_release_row():
    """Metadata exactly as the v1 store (tests/fixtures/store_v1) holds it."""
    md = {"uid": "30923", "name": "CHINA MOBILE LIMITED", "aliases": ["CHINA MOBILE LTD"], "former_names": [],
          "entity_type": "entity", "programs": ["CMIC-EO13959"], "list": "NS-CMIC", "lists": ["NS-CMIC"],
          "authority": "OFAC", "listing_date": "2021-06-03", "effective_date": "2021-08-02",
          "divestment_date": "2022-06-03", "identifiers": ["Equity Ticker: CHL US", "ISIN: US16941M1099",
                                                           "Unified Social Credit Code (USCC): 9111000010 (China)"],
          "addresses": ["60th Floor, The Center, 99 Queens Road Central, Hong Kong, China"],
          "remarks": "(Linked To: CHINA MOBILE COMMUNICATIONS GROUP CO., LTD.)", "list_published": "2025-06-30",
          "linked_to": ["CHINA MOBILE COMMUNICATIONS GROUP CO., LTD"], "details": ["Target Type: Public Company"]}
    e = entry_from_legacy(md, "CHINA MOBILE LIMITED", "OFAC", "2021-06-03", "US")
    assert [(n.name, n.kind) for n in e.names] == [("CHINA MOBILE LIMITED", "primary"), ("CHINA MOBILE LTD", "aka")]
    assert (e.uid, e.entity_type, e.list, e.issuer, e.programs) == ("30923", "organisation", "NS-CMIC", "OFAC",
                                                                    ["CMIC-EO13959"])
    assert (e.listing_date, e.effective_date, e.divestment_date, e.list_published) == (
        dt.date(2021, 6, 3), dt.date(2021, 8, 2), dt.date(2022, 6, 3), dt.date(2025, 6, 30))
    assert [(i.type, i.number, i.country) for i in e.identifiers] == [
        ("Equity Ticker", "CHL US", None), ("ISIN", "US16941M1099", None),
        ("Unified Social Credit Code (USCC)", "9111000010", "China")]
    assert [(x.relation, x.subject, x.object) for x in e.links] == [
        ("Linked To", "CHINA MOBILE LIMITED", "CHINA MOBILE COMMUNICATIONS GROUP CO., LTD")]
    # An EU row and a FollowTheMoney Sanction record of the same release.
    eu = entry_from_legacy({"record_id": "7", "schema": "Person", "name": "A B", "program": "EU-HR",
                                "programs": ["EU-HR"], "list": "EU-HR", "start_date": "2021-03-02",
                                "identifiers": ["registration number 1027700 (Tax ID)"], "weak_aliases": ["AB"]},
                               "A B", "EU Official Journal", None, "EU")
    assert (eu.uid, eu.entity_type, eu.listing_date, eu.all_names()) == ("7", "person", dt.date(2021, 3, 2), ["A B"])
    assert (eu.identifiers[0].type, eu.identifiers[0].number) == ("registration number", "1027700 (Tax ID)")
    sanction = entry_from_legacy({"id": "s1", "schema": "Sanction", "name": "LLC CST", "entity": ["e1"],
                                      "entity_captions": ["LLC CST"], "authority": "OFAC", "program_id": "US-RUSHAR",
                                      "listing_date": ["2025-02-14", "2025-02-13"], "start_date": []},
                                     "LLC CST: sanction by OFAC", "OFAC", None, "US")
    assert (sanction.record, sanction.programs, sanction.listing_date) == ("sanction", ["US-RUSHAR"],
                                                                           dt.date(2025, 2, 13))


def test_obliqa_document_1():
    docs = list(obliqa_json.parse(OBLIQA_1))
    raw = json.loads(OBLIQA_1.read_text(encoding="utf-8"))
    assert len(docs) == sum(1 for p in raw if p["Passage"].strip()) == 493
    d = by(docs, "PassageID", "1.1.1.(1)")
    assert d.metadata["DocumentID"] == 1 and d.metadata["ID"] == "1389d0fa-5346-4953-8d52-45d7fd96c5e8"
    assert d.text.startswith("The AML Rulebook is made in recognition of the application")
    assert d.title.startswith("ADGM document 1 (") and d.title.endswith("), passage 1.1.1.(1)")
    assert d.metadata["section"] == "Jurisdiction"
    assert (d.doc_type, d.jurisdiction, d.publisher, d.single_chunk) == ("regulation", None, "ADGM FSRA", True)
    assert "1.1.1" not in {x.metadata["PassageID"] for x in docs}  # empty passage skipped


def test_obliqa_without_document_map(tmp_path):
    path = tmp_path / "7.json"
    path.write_text(json.dumps([
        {"ID": "a", "DocumentID": 7, "PassageID": "2.1", "Passage": "A Relevant Person must screen customers."},
        {"ID": "b", "DocumentID": 7, "PassageID": "2.2", "Passage": "  "},
    ]), encoding="utf-8")
    (doc,) = list(obliqa_json.parse(path))
    assert doc.title == "ADGM document 7, passage 2.1"


# --------------------------------------------------------------------------- articles


def test_article_html(tmp_path):
    path = tmp_path / "sensetime.html"
    path.write_text(
        """<!DOCTYPE html><html><head><title>US adds SenseTime - Example News</title>
        <meta name="author" content="Jane Doe"><meta property="og:site_name" content="Example News">
        <meta name="date" content="2021-12-10"><link rel="canonical" href="https://news.example.com/sensetime">
        </head><body><nav>Home | World | Markets</nav><article><h1>US adds SenseTime to investment blacklist</h1>
        <p>The US Treasury on Friday added SenseTime Group to its list of Chinese military-industrial complex
        companies, barring American investors from buying its shares.</p>
        <p>The listing came days before the company's planned Hong Kong share sale, which was then postponed.</p>
        </article><footer>Copyright Example News</footer></body></html>""",
        encoding="utf-8",
    )
    assert detect(path) is article_html
    (doc,) = list(article_html.parse(path))
    assert doc.title == "US adds SenseTime to investment blacklist"
    assert "added SenseTime Group" in doc.text and "Copyright" not in doc.text
    assert doc.date == dt.date(2021, 12, 10)
    assert doc.publisher == "Example News" and doc.url == "https://news.example.com/sensetime"
    assert doc.metadata["author"] == "Jane Doe"
    assert doc.doc_type == "article" and doc.doc_id.endswith(":doc")


def test_article_markdown_front_matter(tmp_path):
    path = tmp_path / "note.md"
    path.write_text(
        "---\ntitle: SoftBank and SenseTime\npublisher: Example Wire\nauthor: [A. Analyst, B. Writer]\n"
        "date: 2022-01-05\nurl: https://wire.example.com/x\njurisdiction: United States\ntopic: CMIC\n---\n\n"
        "# Heading in the body\n\nSenseTime is on the **NS-CMIC** list.\n",
        encoding="utf-8",
    )
    assert detect(path) is article_text
    (doc,) = list(article_text.parse(path))
    assert doc.title == "SoftBank and SenseTime"
    assert doc.text == "# Heading in the body\n\nSenseTime is on the **NS-CMIC** list."
    assert doc.date == dt.date(2022, 1, 5) and doc.jurisdiction == "US"
    assert doc.publisher == "Example Wire" and doc.url == "https://wire.example.com/x"
    assert doc.metadata["author"] == "A. Analyst; B. Writer" and doc.metadata["topic"] == "CMIC"


def test_article_plain_text_title_from_first_line(tmp_path):
    path = tmp_path / "memo.txt"
    path.write_text("\nSanctions screening memo\nAll new clients are screened daily.\n", encoding="utf-8")
    (doc,) = list(article_text.parse(path))
    assert doc.title == "Sanctions screening memo" and doc.date is None and doc.metadata == {"markdown": False}


def _pdf_bytes(pages: list[list[str]], title: str = "") -> bytes:
    """A minimal valid PDF: one Helvetica text page per item of `pages`, with a correct xref."""
    n = len(pages)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [" + b" ".join(f"{4 + 2 * i} 0 R".encode() for i in range(n))
               + f"] /Count {n} >>".encode(),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for i, lines in enumerate(pages):
        ops = "BT /F1 12 Tf 14 TL 72 720 Td " + " ".join(f"({line}) Tj T*" for line in lines) + " ET"
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {5 + 2 * i} 0 R "
                       "/Resources << /Font << /F1 3 0 R >> >> >>".encode())
        objects.append(f"<< /Length {len(ops)} >>\nstream\n{ops}\nendstream".encode())
    info = len(objects) + 1
    objects.append(f"<< /Title ({title}) /CreationDate (D:20240503120000Z) >>".encode())
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {info} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def test_article_pdf_pages(tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(_pdf_bytes([["Sanctions report", "Page one text about NS-CMIC."],
                                 ["Page two text about divestment dates."]], title="Quarterly sanctions report"))
    assert detect(path) is article_pdf
    (doc,) = list(article_pdf.parse(path))
    assert doc.title == "Quarterly sanctions report"
    assert doc.date == dt.date(2024, 5, 3)
    assert doc.metadata["page_count"] == 2
    assert [p for p, _ in doc.pages] == [1, 2]
    start2 = doc.pages[1][1]
    assert doc.text[:start2].rstrip().endswith("NS-CMIC.")
    assert doc.text[start2:].startswith("Page two text")
    assert doc.pages[0][1] == 0


def test_pdf_without_text_is_refused(tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(_pdf_bytes([[]]))
    with pytest.raises(FormatError, match="no extractable text") as err:
        list(article_pdf.parse(path))
    assert "scan.pdf" in str(err.value)


# --------------------------------------------------------------------------- bad input

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE sdnList [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<sdnList><sdnEntry><uid>1</uid><lastName>&lol3;</lastName></sdnEntry></sdnList>
"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE sdnList [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<sdnList><sdnEntry><uid>1</uid><lastName>&xxe;</lastName></sdnEntry></sdnList>
"""
MALFORMED = """<?xml version="1.0"?>
<sdnList>
  <publshInformation><Publish_Date>06/30/2025</Publish_Date></publshInformation>
  <sdnEntry><uid>1</uid><lastName>ACME</lastName>
</sdnList>
"""


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "name, content, reason, direct_reason",
    [
        ("malformed.xml", MALFORMED, "malformed XML at line 5", None),
        ("laughs.xml", BILLION_LAUGHS, "declares entities", None),
        ("xxe.xml", XXE, "declares entities", None),
        # Binary or non-UTF-8 .txt files are not sniffed as articles; forced, the reason is precise.
        ("junk.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "unrecognised format", "NUL bytes"),
        ("latin1.txt", "Caf\xe9 sanctions note\n".encode("latin-1"), "unrecognised format",
         "not valid UTF-8 text: byte 0xe9 at line 1"),
        ("empty.md", b"", "empty", "empty"),
        ("whitespace.txt", b"  \n\n ", "whitespace", "whitespace"),
        ("data.parquet", b"PAR1\x00\x01\x02", "unrecognised format", None),
    ],
)
def test_bad_files_raise_format_error_naming_the_file(tmp_path, name, content, reason, direct_reason):
    path = _write(tmp_path, name, content)
    with pytest.raises(FormatError) as err:
        formats.parse(path)
    assert name in str(err.value)
    assert reason in str(err.value)
    if direct_reason:
        with pytest.raises(FormatError) as err:
            list(article_text.parse(path))
        assert name in str(err.value) and direct_reason in str(err.value)


@pytest.mark.parametrize("content", [BILLION_LAUGHS, XXE])
def test_hostile_xml_refused_by_the_xml_parser_itself(tmp_path, content):
    path = _write(tmp_path, "consolidated.xml", content)
    assert detect(path) is ofac_xml  # routed to the XML parser, which refuses it
    with pytest.raises(FormatError, match="possible XXE or entity-expansion attack"):
        list(ofac_xml.parse(path))


def test_truncated_sdn_csv_names_the_line(tmp_path):
    lines = SDN_2024.read_bytes().split(b"\n")[:5]
    cut = b"\n".join(lines[:4]) + b"\n" + lines[4][:30]  # last row cut mid-way
    path = _write(tmp_path, "sdn_truncated.csv", cut)
    assert detect(path) is ofac_sdn_csv
    with pytest.raises(FormatError, match=r"line 5: expected 12 columns, found \d") as err:
        formats.parse(path)
    assert "sdn_truncated.csv" in str(err.value)


def test_non_utf8_csv_names_line_and_byte(tmp_path):
    head = b"\n".join(SDN_2024.read_bytes().split(b"\n")[:3]) + b"\n"
    path = _write(tmp_path, "sdn_latin1.csv", head + '999,"CAF\xc9 X",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n'.encode("latin-1"))
    with pytest.raises(FormatError, match=r"sdn_latin1.csv: not valid UTF-8 text: byte 0xc9 at line 4, byte offset \d+"):
        formats.parse(path)


def test_sdn_csv_tolerates_eof_marker(tmp_path):
    head = b"\n".join(SDN_2024.read_bytes().split(b"\n")[:3]) + b"\n\x1a"
    path = _write(tmp_path, "sdn_small.csv", head)
    assert len(formats.parse(path)) == 3


def test_eu_csv_with_a_short_row(tmp_path):
    text = EU_HR.read_text(encoding="utf-8").splitlines()[0] + "\n32020R1998,1,EU-HR,I.A\n"
    path = _write(tmp_path, "32020R1998.csv", text)
    with pytest.raises(FormatError, match=r"line 2: expected 45 columns, found 4"):
        list(eu_oj_csv.parse(path))


def test_jsonl_error_names_line_and_column(tmp_path):
    good = FR.read_text(encoding="utf-8").splitlines()[0]
    path = _write(tmp_path, "fr.jsonl", good + "\n" + good + "\n" + '{"document_number": "x", "publication_date": ' + "\n")
    with pytest.raises(FormatError, match=r"invalid JSON at line 3, column \d+") as err:
        formats.parse(path)
    assert "fr.jsonl" in str(err.value)


def test_ftm_json_error(tmp_path):
    path = _write(tmp_path, "entities.ftm.json", '{"id": "a", "schema": "Person", "properties": {}}\n[1, 2]\n')
    with pytest.raises(FormatError, match="line 2: expected a FollowTheMoney entity object"):
        list(ftm_json.parse(path))


def test_obliqa_error(tmp_path):
    path = _write(tmp_path, "3.json", '[{"DocumentID": 3, "PassageID": "1", "Passage": "x"}, {"DocumentID": 3}]')
    with pytest.raises(FormatError, match="item 2: missing 'PassageID', 'Passage'"):
        list(obliqa_json.parse(path))


def test_unknown_format_name(tmp_path):
    path = _write(tmp_path, "a.txt", "hello")
    with pytest.raises(FormatError, match="unknown format 'nope'"):
        formats.parse(path, fmt="nope")


def test_forced_wrong_format_is_a_format_error(tmp_path):
    path = _write(tmp_path, "article.md", "# Title\n\nSome text.\n")
    for module in (ofac_xml, ofac_sdn_csv, ofac_changelog_csv, eu_oj_csv, uk_ofsi_csv, federal_register,
                   ftm_json, obliqa_json, article_pdf):
        with pytest.raises(FormatError) as err:
            list(module.parse(path))
        assert "article.md" in str(err.value), module.NAME


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    "text, kwargs, expected",
    [
        ("10 Dec 2021", {}, dt.date(2021, 12, 10)),
        ("12/10/2021", {}, dt.date(2021, 12, 10)),  # OFAC: month first
        ("01/04/2016", {"dayfirst": True}, dt.date(2016, 4, 1)),  # OFSI: day first
        ("2.3.2021", {}, dt.date(2021, 3, 2)),  # EU dotted: day first
        ("2021-12-10", {}, dt.date(2021, 12, 10)),
        ("2021-08-20T01:38:11+00:00", {}, dt.date(2021, 8, 20)),
        ("2 December 1985", {}, dt.date(1985, 12, 2)),
        ("26 Feb. 2011", {}, dt.date(2011, 2, 26)),
        ("9 Sept 2008", {}, dt.date(2008, 9, 9)),
        ("December 10, 2021", {}, dt.date(2021, 12, 10)),
        ("2011", {}, None),
        ("2011-02", {}, None),
        ("00/00/1980", {"dayfirst": True}, None),
        ("31/02/2020", {"dayfirst": True}, None),
        ("", {}, None),
    ],
)
def test_parse_date(text, kwargs, expected):
    assert parse_date(text, **kwargs) == expected


# --------------------------------------------------------------------------- fuzzing

_SEEDS = [
    b'36,"AEROCARIBBEAN AIRLINES",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \r\n',
    b"<?xml version='1.0'?><sdnList><sdnEntry><uid>1</uid><lastName>X</lastName></sdnEntry></sdnList>",
    b'{"id": "a", "schema": "Person", "properties": {"name": ["A"]}}\n',
    b'[{"ID": "x", "DocumentID": 1, "PassageID": "1.1", "Passage": "Text"}]',
    b'{"document_number": "2021-1", "publication_date": "2021-01-01", "title": "T"}\n',
    b"celex,recordId,programKey,annex,measure\n",
    b"---\ntitle: x\n---\nbody\n",
    b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n",
    b"<!doctype html><html><body><p>text</p></body></html>",
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from(_SEEDS), cut=st.integers(min_value=0, max_value=200), junk=st.binary(max_size=40),
       module=st.sampled_from(sorted(formats.formats())))
def test_parsers_raise_only_format_error(tmp_path, seed, cut, junk, module):
    """Truncated, corrupted or mismatched input: documents or FormatError, never anything else."""
    path = tmp_path / f"fuzz{Path(sorted(formats.formats()[module].EXTENSIONS)[0]).suffix}"
    path.write_bytes(seed[:cut] + junk)
    mod = formats.formats()[module]
    assert mod.sniff(path, path.read_bytes()[:8192]) in (True, False)
    try:
        docs = list(mod.parse(path))
    except FormatError as e:
        assert path.name in str(e)
    else:
        assert all(d.doc_id and d.format == module for d in docs)
