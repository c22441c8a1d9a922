"""Builds eval/datasets/name_pairs.jsonl: labelled pairs of names (a query as a person would type it, a name as
a sanctions list writes it) for measuring screening matchers. See name_pairs.README.md for how and why.

Run once: python eval/datasets/name_pairs_build.py. The labels come from the lists themselves (two names of
one listed record are the same party; names of two records are different parties) or from the hand-written
tables below (nicknames, number words, legal forms); no matcher's score chose or labelled a pair.
"""
from __future__ import annotations

import csv
import hashlib
import json
import random
import re
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
OUT = Path(__file__).with_name("name_pairs.jsonl")
HELDOUT_SHARE = 0.4
csv.field_size_limit(10 ** 9)

# --------------------------------------------------------------------------- hand-written tables

# Pairs the issue names (kept in dev: they were seen before any tuning was planned).
ISSUE = [
    ("Хуавей", "Huawei Technologies Co., Ltd.", "Company", 1, "script", "cyrillic"),
    ("Bank Melli", "BANK MELLI IRAN", "Company", 1, "short_form", ""),
    ("Sberbank", "PUBLIC JOINT STOCK COMPANY SBERBANK OF RUSSIA", "Company", 1, "legal_form_drop", ""),
    ("Hezbollah", "HIZBALLAH", "Organization", 1, "similar_names", ""),
    ("Hezbollah", "Hezbollah Military Wing", "Organization", 1, "short_form", ""),
    ("Siemens AG", "Siemens GmbH", "Company", 0, "legal_form_lang", ""),
]

# Common short forms of first names (English, Russian, German, Spanish, Arabic usage).
NICKNAMES = {
    "Robert": ["Bob", "Rob", "Bobby"], "William": ["Bill", "Will", "Billy"], "Richard": ["Rick", "Dick"],
    "James": ["Jim", "Jimmy"], "Michael": ["Mike"], "Thomas": ["Tom"], "Joseph": ["Joe"],
    "Charles": ["Charlie", "Chuck"], "Edward": ["Ted", "Eddie"], "Anthony": ["Tony"],
    "Alexander": ["Alex"], "Elizabeth": ["Liz", "Beth"], "Margaret": ["Peggy", "Maggie"],
    "Katherine": ["Kate"], "Daniel": ["Dan", "Danny"], "Christopher": ["Chris"], "Nicholas": ["Nick"],
    "Steven": ["Steve"], "Jonathan": ["Jon"], "Benjamin": ["Ben"], "Samuel": ["Sam"], "Patrick": ["Pat"],
    "Timothy": ["Tim"], "Gregory": ["Greg"], "Andrew": ["Andy"], "Matthew": ["Matt"], "David": ["Dave"],
    "Dmitry": ["Dima"], "Dmitriy": ["Dima"], "Vladimir": ["Volodya"], "Aleksandr": ["Sasha"],
    "Mikhail": ["Misha"], "Yevgeniy": ["Zhenya"], "Ivan": ["Vanya"], "Nikolay": ["Kolya"],
    "Sergey": ["Seryozha"], "Aleksey": ["Alyosha"], "Ekaterina": ["Katya"], "Yekaterina": ["Katya"],
    "Anatoliy": ["Tolya"], "Viktor": ["Vitya"], "Konstantin": ["Kostya"], "Pavel": ["Pasha"],
    "Francisco": ["Paco", "Pancho"], "Jose": ["Pepe"], "Ignacio": ["Nacho"], "Guillermo": ["Memo"],
    "Alejandro": ["Alejo"], "Abdullah": ["Abdu"], "Mohammed": ["Mo"], "Johann": ["Hans"],
}

NUMBER_WORDS = {1: "One", 2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six", 7: "Seven", 8: "Eight",
                9: "Nine", 10: "Ten", 11: "Eleven", 12: "Twelve", 15: "Fifteen", 20: "Twenty", 21: "Twenty-One",
                24: "Twenty-Four", 25: "Twenty-Five", 30: "Thirty", 40: "Forty", 50: "Fifty", 100: "Hundred"}
ORDINAL_WORDS = {1: "First", 2: "Second", 3: "Third", 4: "Fourth", 5: "Fifth", 6: "Sixth", 7: "Seventh",
                 8: "Eighth", 9: "Ninth", 10: "Tenth"}

# Legal forms: (abbreviation, spelled out, generic type). Two forms of one generic type name the same kind of
# legal person; of two types, different legal persons.
LEGAL_FORMS = [
    ("S.R.L.", "Societate cu Raspundere Limitata", "llc", "RO"),
    ("SRL", "societate cu răspundere limitată", "llc", "RO"),
    ("S.A.", "Societate pe Actiuni", "jsc", "RO"),
    ("OOO", "Obshchestvo s Ogranichennoy Otvetstvennostyu", "llc", "RU"),
    ("ООО", "Общество с ограниченной ответственностью", "llc", "RU"),
    ("OOO", "Limited Liability Company", "llc", "RU"),
    ("AO", "Aktsionernoye Obshchestvo", "jsc", "RU"),
    ("АО", "Акционерное общество", "jsc", "RU"),
    ("PAO", "Publichnoye Aktsionernoye Obshchestvo", "jsc", "RU"),
    ("ПАО", "Публичное акционерное общество", "jsc", "RU"),
    ("PAO", "Public Joint Stock Company", "jsc", "RU"),
    ("OAO", "Otkrytoye Aktsionernoye Obshchestvo", "jsc", "RU"),
    ("ZAO", "Zakrytoye Aktsionernoye Obshchestvo", "jsc", "RU"),
    ("TOV", "Tovarystvo z Obmezhenoiu Vidpovidalnistiu", "llc", "UA"),
    ("ТОВ", "Товариство з обмеженою відповідальністю", "llc", "UA"),
    ("GmbH", "Gesellschaft mit beschränkter Haftung", "llc", "DE"),
    ("AG", "Aktiengesellschaft", "jsc", "DE"),
    ("S.A.", "Sociedad Anónima", "jsc", "ES"),
    ("S.L.", "Sociedad Limitada", "llc", "ES"),
    ("S.p.A.", "Società per Azioni", "jsc", "IT"),
    ("S.r.l.", "Società a responsabilità limitata", "llc", "IT"),
    ("SARL", "Société à responsabilité limitée", "llc", "FR"),
    ("Sp. z o.o.", "Spółka z ograniczoną odpowiedzialnością", "llc", "PL"),
    ("s.r.o.", "společnost s ručením omezeným", "llc", "CZ"),
    ("A.Ş.", "Anonim Şirketi", "jsc", "TR"),
    ("Ltd. Şti.", "Limited Şirketi", "llc", "TR"),
    ("EOOD", "Ednolichno Druzhestvo s Ogranichena Otgovornost", "llc", "BG"),
    ("Kft.", "Korlátolt Felelősségű Társaság", "llc", "HU"),
    ("B.V.", "Besloten Vennootschap", "llc", "NL"),
    ("LLP", "Limited Liability Partnership", "llp", "GB"),
]
# Pairs of forms that make two companies of one name different legal persons.
DIFFERENT_FORMS = [("AG", "GmbH"), ("GmbH", "KG"), ("OOO", "AO"), ("ООО", "ПАО"), ("S.A.", "S.L."),
                   ("S.p.A.", "S.r.l."), ("LLC", "LP"), ("A.Ş.", "Ltd. Şti."), ("SARL", "SAS"),
                   ("Kft.", "Zrt."), ("s.r.o.", "a.s."), ("TOV", "PrAT"), ("B.V.", "N.V.")]

# Renderings of listed persons' names in scripts none of the shared files carries (Georgian, Khmer),
# written from the public romanisation tables of each script.
HAND_SCRIPT = [
    ("ბიძინა ივანიშვილი", "Bidzina IVANISHVILI", "Person", 1, "georgian"),
    ("ვლადიმერ პუტინი", "Vladimir Vladimirovich PUTIN", "Person", 1, "georgian"),
    ("სერგეი ლავროვი", "Sergey Viktorovich LAVROV", "Person", 1, "georgian"),
    ("ალექსანდრე ლუკაშენკო", "Aleksandr Grigoryevich LUKASHENKO", "Person", 1, "georgian"),
    ("რამზან კადიროვი", "Ramzan Akhmatovich KADYROV", "Person", 1, "georgian"),
    ("ბიძინა ივანიშვილი", "Boris IVANISHIN", "Person", 0, "georgian"),
    ("ვლადიმერ პუტინი", "Vladimir Vladimirovich PUTILIN", "Person", 0, "georgian"),
    ("სერგეი ლავროვი", "Sergey Alekseyevich LAVRENOV", "Person", 0, "georgian"),
    ("ហ៊ុន តូ", "HUN To", "Person", 1, "khmer"),
    ("លី យ៉ុងផាត់", "LY Yong Phat", "Person", 1, "khmer"),
    ("ជា វិចិត្រ", "CHEA Vichet", "Person", 1, "khmer"),
    ("គឹម ស៊ុន", "KIM Sun", "Person", 1, "khmer"),
    ("ហ៊ុន តូ", "HUN Sen", "Person", 0, "khmer"),
    ("លី យ៉ុងផាត់", "LY Chhun Heng", "Person", 0, "khmer"),
    ("ザラ・アエロ", "Zala Aero", "Company", 1, "japanese"),
    ("アエロスキャン", "AEROSCAN", "Company", 1, "japanese"),
    ("コンツェルン・カラシニコフ", "CONCERN KALASHNIKOV JSC", "Company", 1, "japanese"),
    ("イジュマシュ", "JSC NPO IZHMASH", "Company", 1, "japanese"),
    ("ザラ・アエロ・グループ", "ZALA AERO GROUP", "Company", 1, "japanese"),
    ("アエロスキャン", "AEROSIGMA LLC", "Company", 0, "japanese"),
    ("ザラ・アエロ", "Zara Air", "Company", 0, "japanese"),
    ("ウラジーミル・プーチン", "Vladimir Vladimirovich PUTIN", "Person", 1, "japanese"),
    ("セルゲイ・ラブロフ", "Sergey Viktorovich LAVROV", "Person", 1, "japanese"),
    ("ラムザン・カディロフ", "Ramzan Akhmatovich KADYROV", "Person", 1, "japanese"),
    ("セルゲイ・ラブロフ", "Sergey LEBEDEV", "Person", 0, "japanese"),
    ("ファーウェイ", "Huawei Technologies Co., Ltd.", "Company", 1, "japanese"),
    ("华为技术有限公司", "Huawei Technologies Co., Ltd.", "Company", 1, "chinese"),
    ("习近平", "XI Jinping", "Person", 1, "chinese"),
    ("海康威视", "Hikvision", "Company", 1, "chinese"),
    ("华为", "Hualu Technology", "Company", 0, "chinese"),
    ("حزب الله", "HIZBALLAH", "Organization", 1, "arabic"),
    ("بنك ملي ايران", "BANK MELLI IRAN", "Company", 1, "arabic"),
    ("بنك ملت", "BANK MELLI IRAN", "Company", 0, "arabic"),
]

# Organisations with the acronym the lists give them (written from the lists' own "a.k.a." entries).
SHORT_FORMS = [
    ("Bank Melli", "BANK MELLI IRAN", 1), ("Bank Mellat", "BANK MELLI IRAN", 0),
    ("Hezbollah", "HIZBALLAH", 1), ("Hamas", "HARAKAT AL-MUQAWAMA AL-ISLAMIYA", 1),
    ("Rosoboronexport", "ROSOBORONEXPORT OAO", 1), ("Gazprombank", "GAZPROMBANK JOINT STOCK COMPANY", 1),
    ("Gazprom", "GAZPROMBANK JOINT STOCK COMPANY", 0), ("Sberbank", "SBERBANK EUROPE AG", 0),
    ("VTB", "VTB BANK PUBLIC JOINT STOCK COMPANY", 1), ("Rosneft", "ROSNEFT TRADING S.A.", 0),
    ("Alfa Bank", "JOINT STOCK COMPANY ALFA-BANK", 1), ("Alfa Bank", "ALFA-BANK (UKRAINE)", 0),
    ("Kalashnikov", "KALASHNIKOV CONCERN JSC", 1), ("Huawei", "HUAWEI TECHNOLOGIES CO., LTD.", 1),
    ("Huawei", "HUAWEI CLOUD BEIJING", 0), ("Hikvision", "HANGZHOU HIKVISION DIGITAL TECHNOLOGY CO., LTD.", 1),
    ("Dahua", "ZHEJIANG DAHUA TECHNOLOGY CO., LTD.", 1), ("Sensetime", "SENSETIME GROUP LIMITED", 1),
    ("Almaz-Antey", "JOINT STOCK COMPANY CONCERN OF AIR DEFENCE ALMAZ-ANTEY", 1),
    ("Novatek", "NOVATEK GAS AND POWER GMBH", 0), ("Hezbollah", "HEZBOLLAH MILITARY WING", 1),
    ("al-Qaida", "AL-QAIDA IN THE ARABIAN PENINSULA", 0), ("al-Shabaab", "AL-SHABAAB", 1),
    ("Mahan Air", "MAHAN AIR", 1), ("Mahan", "MAHAN AIR", 1), ("Iran Air", "IRAN AIR TOURS", 0),
    ("Sovcomflot", "PAO SOVCOMFLOT", 1), ("Promsvyazbank", "PUBLIC JOINT STOCK COMPANY PROMSVYAZBANK", 1),
    ("Wagner", "PMC WAGNER", 1), ("Wagner Group", "PMC WAGNER", 1),
]


# --------------------------------------------------------------------------- sources

def sdn_rows(path: Path) -> list[dict]:
    """OFAC SDN CSV rows with the aliases written in the remarks ("a.k.a. 'X'")."""
    out = []
    with path.open(encoding="latin-1") as f:
        for row in csv.reader(f):
            if len(row) < 12:
                continue
            typ = row[2].strip().strip('"')
            remarks = row[11]
            akas = re.findall(r"a\.k\.a\. '([^']+)'", remarks)
            fkas = re.findall(r"f\.k\.a\. '([^']+)'", remarks)
            out.append({"id": row[0], "name": row[1], "type": "Person" if typ == "individual" else
                        ("Vessel" if typ == "vessel" else "Company"), "akas": akas, "fkas": fkas,
                        "programs": row[3]})
    return out


def script_of(s: str) -> str | None:
    for c in s:
        if c.isalpha() and ord(c) > 0x24F:
            n = unicodedata.name(c, "?").split()[0]
            if n in ("CJK", "HIRAGANA", "KATAKANA"):
                if any(unicodedata.name(x, "").startswith(("HIRAGANA", "KATAKANA")) for x in s):
                    return "japanese"
                return "chinese"
            return {"HANGUL": "korean"}.get(n, n.lower())
    return None


_JUNK = re.compile(r"^(?:[A-Z][a-z]+:|Text of image)", re.I)


def eu_records() -> list[dict]:
    out = []
    for f in sorted((DATA / "eu" / "consolidated").glob("*.csv")):
        with f.open(encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                names = [r["name"]] + [a.strip() for a in (r["alias"] + ";" + r["previousName"]).split(";")]
                names = [n for n in names if n and not _JUNK.match(n) and len(n) < 120]
                if not names:
                    continue
                schema = "Person" if r["schema"] == "Person" else "Company"
                out.append({"file": f.stem, "id": f"{f.stem}:{r['recordId']}:{r['annex']}:{len(out)}",
                            "schema": schema, "names": names})
    return out


def ftm_records() -> list[dict]:
    out = []
    for f in sorted((DATA / "opensanctions" / "yente_fixtures").glob("*/entities.ftm.json")):
        for line in f.open(encoding="utf-8"):
            e = json.loads(line)
            p = e.get("properties", {})
            names = p.get("name", []) + p.get("alias", [])
            if e["schema"] in ("Person", "Company", "Organization", "LegalEntity") and names:
                out.append({"file": f.parent.name, "id": e["id"],
                            "schema": "Person" if e["schema"] == "Person" else "Company", "names": names})
    return out


def fold(s: str) -> str:
    s = "".join(c for c in unicodedata.normalize("NFKD", s.lower()) if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", s).split())


def ascii_of(s: str) -> str:
    from rigour.text import ascii_text  # a neutral transliteration, used only to find hard negatives
    return fold(ascii_text(s))


# --------------------------------------------------------------------------- builders

def script_pairs(rng: random.Random) -> list[dict]:
    """A record's name in another script against its primary Latin-script name; negatives: the same
    other-script name against the most alike Latin name of another record of the same file and schema."""
    from rapidfuzz import fuzz, process

    recs = [r for r in eu_records() + ftm_records()]
    by_file: dict[tuple, list[tuple[str, str]]] = defaultdict(list)  # (file, schema) -> (latin name, record)
    for r in recs:
        for n in r["names"]:
            if not script_of(n):
                by_file[(r["file"], r["schema"])].append((n, r["id"]))
    cand = defaultdict(list)
    for r in recs:
        latin = [n for n in r["names"] if not script_of(n)]
        if not latin:
            continue
        for n in dict.fromkeys(r["names"]):
            sc = script_of(n)
            if not sc or sc in ("japanese", "latin") or "/" in n:
                continue
            if sc == "chinese" and r["schema"] != "Person" and not _shares_pinyin(n, latin):
                continue  # a translation (陽光電子 = "Brightmile"), not a rendering of the name
            cand[sc].append((r, n, latin[0]))
    quota = {"cyrillic": 60, "arabic": 50, "chinese": 24, "korean": 24, "hebrew": 6, "thai": 2, "armenian": 1,
             "greek": 4}
    out = []
    for sc, items in sorted(cand.items()):
        items = sorted(items, key=lambda x: (x[0]["id"], x[1]))
        picked = rng.sample(items, min(len(items), quota.get(sc, 4)))
        for i, (r, n, lat) in enumerate(picked):
            out.append(pair(n, lat, r["schema"], 1, "script", sc, f"{r['file']} record {r['id']}"))
            if i % 3 == 0:  # a negative for every third
                pool = [(ln, rid) for ln, rid in by_file[(r["file"], r["schema"])] if rid != r["id"]
                        and fold(ln) not in {fold(x) for x in r["names"]}]
                if not pool:
                    continue
                best = process.extractOne(ascii_of(n), [ascii_of(p[0]) for p in pool], scorer=fuzz.ratio)
                other = pool[best[2]][0]
                out.append(pair(n, other, r["schema"], 0, "script", sc,
                                f"{r['file']} record {r['id']} against another record's name"))
    return out


def _shares_pinyin(cjk: str, latin: list[str]) -> bool:
    from rigour.text import ascii_text

    syl = ascii_text(cjk).split()
    joined = {"".join(syl[i:j]) for i in range(len(syl)) for j in range(i + 2, min(len(syl), i + 4) + 1)}
    words = {w for n in latin for w in fold(n).split() if len(w) >= 4}
    return bool(joined & words)


def _surname_first(sdn_name: str) -> tuple[str, str] | None:
    if "," not in sdn_name:
        return None
    last, first = [x.strip() for x in sdn_name.split(",", 1)]
    if not last or not first:
        return None
    return last, first


def nickname_pairs(sdn: list[dict], rng: random.Random) -> list[dict]:
    """Listed persons whose first name has a common short form, queried by it; negatives: a short form of
    another first name with the same surname."""
    out = []
    persons = [r for r in sdn if r["type"] == "Person" and _surname_first(r["name"])]
    found = defaultdict(list)
    for r in persons:
        last, first = _surname_first(r["name"])
        head = first.split()[0]
        if head in NICKNAMES:
            found[head].append((r, last, first))
    keys = sorted(found)
    for head in keys:
        for r, last, first in rng.sample(found[head], min(2, len(found[head]))):
            nick = rng.choice(NICKNAMES[head])
            q = f"{nick} {last.title()}"
            out.append(pair(q, r["name"], "Person", 1, "nickname", head, f"SDN {r['id']}"))
            other = rng.choice([k for k in NICKNAMES if k != head and NICKNAMES[k][0][0] != nick[0]])
            if rng.random() < 0.45:
                out.append(pair(f"{NICKNAMES[other][0]} {last.title()}", r["name"], "Person", 0, "nickname", head,
                                f"SDN {r['id']}, another first name's short form"))
    return out


def initials_pairs(sdn: list[dict], rng: random.Random) -> list[dict]:
    out = []
    persons = sorted([r for r in sdn if r["type"] == "Person" and _surname_first(r["name"])], key=lambda r: r["id"])
    for r in rng.sample(persons, 45):
        last, first = _surname_first(r["name"])
        parts = first.split()
        style = rng.choice(["first", "all", "dotless"])
        if style == "first" or len(parts) == 1:
            q = f"{parts[0][0]}. {' '.join(parts[1:])} {last.title()}".replace("  ", " ")
        elif style == "all":
            q = " ".join(p[0] + "." for p in parts) + " " + last.title()
        else:
            q = f"{last.title()} {''.join(p[0] for p in parts)}"
        out.append(pair(q, r["name"], "Person", 1, "initials", style, f"SDN {r['id']}"))
    # negatives: an initial that is not the listed first name's, same surname
    for r in rng.sample(persons, 18):
        last, first = _surname_first(r["name"])
        letters = [c for c in "ABDEGHKLMNPRSTVZ" if c != first[0].upper()]
        out.append(pair(f"{rng.choice(letters)}. {last.title()}", r["name"], "Person", 0, "initials", "other",
                        f"SDN {r['id']}, another initial"))
    return out


def acronym_pairs(sdn: list[dict], rng: random.Random) -> list[dict]:
    """An organisation's acronym, as its own entry gives it ("a.k.a. 'IRISL'"), against its name;
    negatives: the acronym against another entry's name with the same first letters."""
    out = []
    orgs = [r for r in sdn if r["type"] == "Company"]
    found = []
    for r in orgs:
        for a in r["akas"]:
            if re.fullmatch(r"[A-Z]{3,6}", a):
                words = [w for w in re.findall(r"[A-Z]+", r["name"].upper()) if w not in
                         ("OF", "AND", "THE", "FOR", "DE", "AL", "EL", "LA", "DEL", "IN")]
                if "".join(w[0] for w in words)[:len(a)] == a or "".join(w[0] for w in words) == a:
                    found.append((r, a))
    found.sort(key=lambda x: x[0]["id"])
    for r, a in rng.sample(found, min(45, len(found))):
        out.append(pair(a, r["name"], "Company", 1, "acronym", "", f"SDN {r['id']} a.k.a. {a}"))
    by_initial = defaultdict(list)
    for r in orgs:
        if r["name"][:1].isalpha():
            by_initial[r["name"][0]].append(r)
    for r, a in rng.sample(found, min(18, len(found))):
        others = [o for o in by_initial[a[0]] if o["id"] != r["id"] and a not in o["akas"]
                  and "".join(w[0] for w in re.findall(r"[A-Z]+", o["name"].upper())) != a]
        if others:
            o = rng.choice(sorted(others, key=lambda x: x["id"]))
            out.append(pair(a, o["name"], "Company", 0, "acronym", "", f"SDN {o['id']}, another entry's name"))
    return out


LEGAL_RE = re.compile(r",?\s*\b(?:CO\.,? LTD\.?|LTD\.?|LIMITED|LLC|L\.L\.C\.|INC\.?|CORP\.?|CORPORATION|JSC|PJSC|OJSC|"
                      r"CJSC|OOO|OAO|ZAO|PAO|AO|GMBH|AG|S\.A\.|SA|S\.R\.L\.|SRL|FZE|FZCO|PLC|"
                      r"JOINT STOCK COMPANY|PUBLIC JOINT STOCK COMPANY|LIMITED LIABILITY COMPANY|"
                      r"COMPANY LIMITED|SDN\.? BHD\.?|PTE\.? LTD\.?|PVT\.? LTD\.?)\s*$")


def legal_drop_pairs(sdn: list[dict], rng: random.Random) -> list[dict]:
    """A company's name without its legal-form words against the name as listed; negatives: the bare name
    against another listed company whose name shares its first word."""
    out = []
    orgs = sorted([r for r in sdn if r["type"] == "Company"], key=lambda r: r["id"])
    with_form = []
    for r in orgs:
        m = LEGAL_RE.search(r["name"])
        lead = re.match(r"^(JOINT STOCK COMPANY|PUBLIC JOINT STOCK COMPANY|LIMITED LIABILITY COMPANY|OOO|OAO|"
                        r"ZAO|PAO|AO|JSC|PJSC|OJSC|CJSC|LLC)\s+", r["name"])
        if m and len(r["name"][:m.start()].strip()) >= 4:
            with_form.append((r, r["name"][:m.start()].strip(" ,")))
        elif lead and len(r["name"][lead.end():]) >= 4:
            with_form.append((r, r["name"][lead.end():].strip(" ,")))
    by_first = defaultdict(list)
    for r, bare in with_form:
        by_first[bare.split()[0]].append(r)
    for r, bare in rng.sample(with_form, 50):
        q = rng.choice([bare, bare.title()]).strip('"“”')
        out.append(pair(q, r["name"], "Company", 1, "legal_form_drop", "", f"SDN {r['id']}"))
    for r, bare in rng.sample(with_form, 40):
        others = [o for o in by_first[bare.split()[0]] if o["id"] != r["id"] and fold(bare) not in fold(o["name"])]
        if others:
            o = rng.choice(others)
            out.append(pair(bare.title(), o["name"], "Company", 0, "legal_form_drop", "",
                            f"SDN {o['id']}, another company with the same first word"))
    return out


def number_pairs(sdn: list[dict], rng: random.Random) -> list[dict]:
    """Listed names with a small number written as a word instead of digits (or the reverse);
    negatives: the same name with another number."""
    out = []
    cands = []
    for r in sorted(sdn, key=lambda r: r["id"]):
        for n in [r["name"]] + r["akas"]:
            m = re.search(r"(?<![\w\-/.])(\d{1,3})(?![\w\-/.])", n)
            if m and int(m.group(1)) in NUMBER_WORDS and len(re.sub(r"\d", "", n).strip()) >= 5:
                cands.append((r, n, m))
    for r, n, m in rng.sample(cands, min(45, len(cands))):
        v = int(m.group(1))
        q = n[:m.start()] + NUMBER_WORDS[v] + n[m.end():]
        if rng.random() < 0.5:
            out.append(pair(q, n, r["type"], 1, "numbers", "word", f"SDN {r['id']}"))
        else:
            out.append(pair(n, q.upper(), r["type"], 1, "numbers", "digits", f"SDN {r['id']}"))
    for r, n, m in rng.sample(cands, min(25, len(cands))):
        v = int(m.group(1))
        other = rng.choice([k for k in NUMBER_WORDS if k != v and k <= 30])
        q = n[:m.start()] + (NUMBER_WORDS[other] if rng.random() < 0.5 else str(other)) + n[m.end():]
        out.append(pair(q, n, r["type"], 0, "numbers", "other number", f"SDN {r['id']}, another number"))
    # ordinals
    ords = []
    for r in sorted(sdn, key=lambda r: r["id"]):
        m = re.search(r"\b(\d{1,2})(?:ST|ND|RD|TH)\b", r["name"])
        if m and int(m.group(1)) in ORDINAL_WORDS:
            ords.append((r, m))
    for r, m in ords[:8]:
        q = r["name"][:m.start()] + ORDINAL_WORDS[int(m.group(1))].upper() + r["name"][m.end():]
        out.append(pair(q, r["name"], r["type"], 1, "numbers", "ordinal", f"SDN {r['id']}"))
    return out


def legal_lang_pairs(sdn: list[dict], rng: random.Random) -> list[dict]:
    """A listed company's distinctive name with a legal form abbreviated on one side and spelled out (in its
    language) on the other; negatives: the same name with a form of another type (AG / GmbH)."""
    from rigour.text import ascii_text

    out = []
    orgs = sorted([r for r in sdn if r["type"] == "Company"], key=lambda r: r["id"])
    bases = []
    for r in orgs:
        m = LEGAL_RE.search(r["name"])
        bare = r["name"][:m.start()].strip(" ,") if m else r["name"]
        lead = re.match(r"(?:JOINT STOCK COMPANY|LIMITED LIABILITY COMPANY|OOO|OAO|ZAO|PAO|AO|JSC|PJSC|OJSC|CJSC|LLC)\b", bare)
        if 4 <= len(bare) <= 30 and len(bare.split()) <= 3 and not re.search(r"[\d(]", bare) and not lead:
            bases.append((r, bare.title()))
    for r, bare in rng.sample(bases, 60):
        abbr, full, _, land = rng.choice(LEGAL_FORMS)
        spelled = full if rng.random() < 0.7 else ascii_text(full).title()
        a = f"{abbr} {bare}" if land in ("RU", "UA", "BG") and rng.random() < 0.7 else f"{bare} {abbr}"
        b = f"{spelled} \"{bare}\"" if rng.random() < 0.5 else f"{bare} {spelled}"
        out.append(pair(a, b, "Company", 1, "legal_form_lang", abbr, f"base name of SDN {r['id']}"))
    for r, bare in rng.sample(bases, 26):
        x, y = rng.choice(DIFFERENT_FORMS)
        out.append(pair(f"{bare} {x}", f"{bare} {y}", "Company", 0, "legal_form_lang", f"{x}/{y}",
                        f"base name of SDN {r['id']}, two legal forms of different types"))
    return out


def word_order_pairs(sdn: list[dict], rng: random.Random) -> list[dict]:
    """A listed person's name as "First Last" or "LAST First" against "LAST, First"; negatives: another
    listed person with the same surname, in the other order."""
    out = []
    persons = sorted([r for r in sdn if r["type"] == "Person" and _surname_first(r["name"])], key=lambda r: r["id"])
    by_last = defaultdict(list)
    for r in persons:
        by_last[_surname_first(r["name"])[0]].append(r)
    for r in rng.sample(persons, 45):
        last, first = _surname_first(r["name"])
        q = f"{first} {last.title()}" if rng.random() < 0.5 else f"{last.upper()} {first}"
        out.append(pair(q, r["name"], "Person", 1, "word_order", "", f"SDN {r['id']}"))
    shared = [k for k, v in sorted(by_last.items()) if len(v) >= 2]
    for last in rng.sample(shared, 22):
        a, b = rng.sample(by_last[last], 2)
        la, fa = _surname_first(a["name"])
        out.append(pair(f"{fa} {la.title()}", b["name"], "Person", 0, "word_order", "",
                        f"SDN {a['id']} against SDN {b['id']}"))
    return out


def similar_pairs(sdn: list[dict], rng: random.Random) -> list[dict]:
    """Different listed parties with alike names (the most alike name of another entry of the same type,
    the entries sharing no name); positives: an entry's name against one of its own a.k.a.s."""
    from rapidfuzz import fuzz, process

    out = []
    orgs = sorted([r for r in sdn if r["type"] == "Company"], key=lambda r: r["id"])
    names = [fold(r["name"]) for r in orgs]
    for r in rng.sample(orgs, 70):
        hits = process.extract(fold(r["name"]), names, scorer=fuzz.ratio, limit=4)
        for _, score, j in hits:
            o = orgs[j]
            if o["id"] == r["id"] or fold(o["name"]) == fold(r["name"]):
                continue
            if {fold(x) for x in [o["name"]] + o["akas"]} & {fold(x) for x in [r["name"]] + r["akas"]}:
                continue
            if score >= 70:
                out.append(pair(r["name"].title(), o["name"], "Company", 0, "similar_names", "",
                                f"SDN {r['id']} against SDN {o['id']}"))
            break
    persons = sorted([r for r in sdn if r["type"] == "Person"], key=lambda r: r["id"])
    pnames = [fold(r["name"]) for r in persons]
    for r in rng.sample(persons, 40):
        hits = process.extract(fold(r["name"]), pnames, scorer=fuzz.ratio, limit=4)
        for _, score, j in hits:
            o = persons[j]
            if o["id"] == r["id"] or fold(o["name"]) == fold(r["name"]) or score < 75:
                continue
            out.append(pair(r["name"], o["name"], "Person", 0, "similar_names", "",
                            f"SDN {r['id']} against SDN {o['id']}"))
            break
    with_aka = [r for r in sorted(sdn, key=lambda r: r["id"]) if r["akas"] and r["type"] != "Vessel"]
    for r in rng.sample(with_aka, 110):
        a = rng.choice(r["akas"])
        # spelling variants only: the alias shares a word with the name (a nickname alias such as
        # "PICHI" for a person is no name-matching task)
        if len(a) >= 4 and set(w for w in fold(a).split() if len(w) >= 3) & set(fold(r["name"]).split()):
            out.append(pair(a, r["name"], r["type"], 1, "similar_names", "alias", f"SDN {r['id']} a.k.a."))
    return out


# --------------------------------------------------------------------------- assembly

def pair(a: str, b: str, schema: str, label: int, kind: str, sub: str, source: str) -> dict:
    return {"query": a, "name": b, "schema": schema, "label": label, "kind": kind, "sub": sub, "source": source}


def split_of(p: dict) -> str:
    """Held out by a hash of the listed name's source record, so no record is on both sides."""
    key = p["source"].split(",")[0].split(" against ")[0]
    h = int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "heldout" if h < HELDOUT_SHARE else "dev"


def main() -> int:
    rng = random.Random(23)
    sdn = sdn_rows(DATA / "ofac" / "sdn_2024-05-03.csv")
    pairs = []
    for a, b, schema, label, kind, sub in ISSUE:
        pairs.append({**pair(a, b, schema, label, kind, sub, "issue 23"), "split": "dev"})
    hand = [pair(a, b, s, lab, "script", sc, "hand-written rendering") for a, b, s, lab, sc in HAND_SCRIPT]
    hand += [pair(a, b, "Company", lab, "short_form", "", "hand-written from list a.k.a.s") for a, b, lab in SHORT_FORMS]
    built = hand + script_pairs(rng) + nickname_pairs(sdn, rng) + initials_pairs(sdn, rng) + acronym_pairs(sdn, rng) \
        + legal_drop_pairs(sdn, rng) + number_pairs(sdn, rng) + legal_lang_pairs(sdn, rng) \
        + word_order_pairs(sdn, rng) + similar_pairs(sdn, rng)
    seen = {(p["query"], p["name"]) for p in pairs}
    for p in built:
        if (p["query"], p["name"]) in seen or p["query"] == p["name"]:
            continue
        seen.add((p["query"], p["name"]))
        p["split"] = split_of(p) if p["source"] != "hand-written rendering" else \
            ("heldout" if int(hashlib.sha1(p["query"].encode()).hexdigest()[:8], 16) % 5 < 2 else "dev")
        pairs.append(p)
    for i, p in enumerate(pairs):
        p["id"] = i + 1
    with OUT.open("w", encoding="utf-8") as f:
        for p in pairs:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    from collections import Counter

    c = Counter((p["kind"], p["split"], p["label"]) for p in pairs)
    print(len(pairs), "pairs")
    for k in sorted({p["kind"] for p in pairs}):
        print(f"{k:<16}", " ".join(f"{s}:{c[(k, s, 1)]}+/{c[(k, s, 0)]}-" for s in ("dev", "heldout")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
