"""Build the small OFAC list extracts that ship with the demo corpus.

The extracts are cut from OFAC's own public-domain files in ../shared/data (relative to the
repository root), so the demo corpus has real list entries without shipping whole lists:

* ``lists/ofac_ns_cmic_extract.xml``: a valid OFAC consolidated-list XML file (root ``sdnList`` in
  OFAC's namespace, ``publshInformation`` with the source's ``Publish_Date`` and the new
  ``Record_Count``) holding only the ``sdnEntry`` elements chosen in ``NS_CMIC_UIDS``.
* ``lists/ofac_sdn_extract.csv``: rows of OFAC's legacy headerless SDN CSV, copied byte for byte
  (same quoting, same CRLF line ends) for the entries chosen in ``SDN_ENT_NUMS``.

Standard library only. Run from anywhere:

    python ingest/demo_corpus/build_lists.py                      # default data dir
    python ingest/demo_corpus/build_lists.py --data-dir /path/to/shared/data
"""

from __future__ import annotations

import argparse
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
DEFAULT_OUT_DIR = HERE / "lists"

CONSOLIDATED_XML = Path("ofac") / "consolidated_nonSDN_2025-06-30.xml"
SDN_CSV = Path("ofac") / "sdn_2024-05-03.csv"

OFAC_NS = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/XML"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
NS_CMIC_PROGRAM = "CMIC-EO13959"

# NS-CMIC entries to keep, by OFAC uid, with the primary name we expect (checked at build time).
NS_CMIC_UIDS: dict[str, str] = {
    # the entries the demo articles are about
    "33114": "SENSETIME GROUP LIMITED",
    "33091": "MEGVII TECHNOLOGY LIMITED",
    "33111": "SZ DJI TECHNOLOGY CO., LTD.",
    "30946": "HANGZHOU HIKVISION DIGITAL TECHNOLOGY CO., LTD.",
    "30947": "HUAWEI TECHNOLOGIES CO., LTD.",
    "32087": "HUAWEI INVESTMENT & HOLDING CO., LTD.",
    # the other six surveillance-technology firms identified with Megvii and DJI on 16 Dec 2021
    "33112": "CLOUDWALK TECHNOLOGY CO., LTD.",
    "33113": "DAWNING INFORMATION INDUSTRY CO., LTD",
    "33893": "YITU LIMITED",
    "33894": "LEON TECHNOLOGY COMPANY LIMITED",
    "33895": "NETPOSA TECHNOLOGIES LIMITED",
    "33896": "XIAMEN MEIYA PICO INFORMATION CO., LTD.",
    # other technology and electronics groups from the 3 Jun 2021 annex
    "30936": "CHINA ELECTRONICS TECHNOLOGY GROUP CORPORATION",  # named as Hikvision's parent by DoD
    "30932": "CHINA ELECTRONICS CORPORATION",
    "30949": "INSPUR GROUP CO., LTD.",
    "30951": "SEMICONDUCTOR MANUFACTURING INTERNATIONAL CORPORATION",
    "30923": "CHINA MOBILE LIMITED",
}

# SDN rows to keep, by ent_num, with the name we expect (checked at build time).
SDN_ENT_NUMS: dict[str, str] = {
    # well-known entries across programs
    "306": "BANCO NACIONAL DE CUBA",
    "36": "AEROCARIBBEAN AIRLINES",
    "25578": "BANK MELLI IRAN",
    "10391": "ISLAMIC REVOLUTIONARY GUARD CORPS",
    "26367": "PETROLEOS DE VENEZUELA, S.A.",
    "15603": "FOREIGN TRADE BANK OF THE DEMOCRATIC PEOPLE'S REPUBLIC OF KOREA",
    "17018": "PUBLIC JOINT STOCK COMPANY SBERBANK OF RUSSIA",
    "22543": "PRIVATE MILITARY COMPANY 'WAGNER'",
    "27307": "LAZARUS GROUP",
    "4695": "HAMAS",
    "4697": "HIZBALLAH",
    "39796": "TORNADO CASH",
    # Xinjiang security apparatus (GLOMAG): the surveillance-related Chinese SDN entries
    "29159": "XINJIANG PUBLIC SECURITY BUREAU",
    "29299": "XINJIANG PRODUCTION AND CONSTRUCTION CORPS",
    "31492": "WANG, Junzheng",
    "31493": "CHEN, Mingguo",
    "34079": "ZAKIR, Shohrat",
    "34119": "TUNIYAZ, Erken",
    # commercial spyware vendors (CYBER2)
    "48059": "INTELLEXA S.A.",
    "48067": "CYTROX AD",
}


def _q(tag: str) -> str:
    return f"{{{OFAC_NS}}}{tag}"


def build_ns_cmic_extract(source: Path, dest: Path, uids: dict[str, str] = NS_CMIC_UIDS) -> int:
    """Write an OFAC XML file holding only the chosen NS-CMIC sdnEntry elements; return their count."""
    tree = ET.parse(source)
    root = tree.getroot()
    if root.tag != _q("sdnList"):
        raise ValueError(f"{source}: root element is {root.tag!r}, expected sdnList in {OFAC_NS}")

    found: set[str] = set()
    for entry in list(root.findall(_q("sdnEntry"))):
        uid = (entry.findtext(_q("uid")) or "").strip()
        if uid not in uids:
            root.remove(entry)
            continue
        name = (entry.findtext(_q("lastName")) or "").strip()
        programs = [p.text for p in entry.iter(_q("program"))]
        if name != uids[uid]:
            raise ValueError(f"uid {uid}: name is {name!r}, expected {uids[uid]!r}")
        if NS_CMIC_PROGRAM not in programs:
            raise ValueError(f"uid {uid} ({name}): not in program {NS_CMIC_PROGRAM}: {programs}")
        found.add(uid)
    missing = sorted(set(uids) - found)
    if missing:
        raise ValueError(f"{source}: uids not found: {missing}")

    info = root.find(_q("publshInformation"))
    if info is None or info.find(_q("Record_Count")) is None:
        raise ValueError(f"{source}: no publshInformation/Record_Count")
    info.find(_q("Record_Count")).text = str(len(found))  # Publish_Date is kept as published

    ET.register_namespace("", OFAC_NS)
    root.set("xmlns:xsi", XSI_NS)  # keep the declaration the original root carries
    ET.indent(tree, space="  ")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tree.write(dest, encoding="utf-8", xml_declaration=True)
    with dest.open("ab") as fh:
        fh.write(b"\n")
    return len(found)


def build_sdn_extract(source: Path, dest: Path, ent_nums: dict[str, str] = SDN_ENT_NUMS) -> int:
    """Copy the chosen rows of OFAC's headerless SDN CSV verbatim; return how many were copied."""
    kept: dict[str, bytes] = {}
    with source.open("rb") as fh:
        for line in fh:
            ent_num, _, rest = line.partition(b",")
            key = ent_num.decode("ascii", "replace").strip()
            if key in ent_nums:
                name = rest.split(b'",', 1)[0].lstrip(b'"').decode("utf-8", "replace")
                if name != ent_nums[key]:
                    raise ValueError(f"ent_num {key}: name is {name!r}, expected {ent_nums[key]!r}")
                kept[key] = line if line.endswith(b"\n") else line + b"\r\n"
    missing = sorted(set(ent_nums) - set(kept), key=int)
    if missing:
        raise ValueError(f"{source}: ent_nums not found: {missing}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("wb") as out:
        for key in ent_nums:  # in the order chosen above
            out.write(kept[key])
    return len(kept)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help=f"the shared data directory (default: {DEFAULT_DATA_DIR})")
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT_DIR,
                        help=f"where to write the extracts (default: {DEFAULT_OUT_DIR})")
    args = parser.parse_args(argv)

    xml_out = args.out_dir / "ofac_ns_cmic_extract.xml"
    csv_out = args.out_dir / "ofac_sdn_extract.csv"
    n_xml = build_ns_cmic_extract(args.data_dir / CONSOLIDATED_XML, xml_out)
    n_csv = build_sdn_extract(args.data_dir / SDN_CSV, csv_out)
    print(f"wrote {xml_out} ({n_xml} NS-CMIC entries)")
    print(f"wrote {csv_out} ({n_csv} SDN rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
