"""Training sentences written for the relation model: templates in our own words with stand-in parties.

Each template is (text, [(relation, subject slot, object slot, status)]). Slots: {P}/{Q} persons, {A}/{B}/{C}
organisations, {G} a government body, {I} a department's one-word name, {GD} a "Department of ...", {U} a
unit inside a department, {L} a place. Filled with the fictitious names below, each template
several times, they teach the model how sanctions notices, court releases and trade press state who owns,
runs, supplies or acts for whom, and how they mention parties side by side without relating them.
"""
from __future__ import annotations

import random

PERSONS = ["Darius Kamali", "Elena Voronova", "Chen Haoran", "Omar Haddad", "Lukas Brenner", "Priya Nair",
           "Sergei Malkin", "Farid Rostami", "Anna Kowalska", "Kenji Sato", "Reza Moradi", "Olga Lebedeva",
           "Tomas Herrera", "Wang Lei", "Yusuf Arslan", "Mikhail Orlov", "Leila Karimi", "Viktor Zhukov"]
ORGS = ["Argent Trading LLC", "Borealis Shipping Ltd.", "Cobalt Industrial Group", "Delmar Electronics Co., Ltd.",
        "Eastgate Holdings", "Falcon Aero Systems", "Granite Capital Partners", "Helios Components FZE",
        "Ironbridge Logistics", "Juniper Microdevices Inc.", "Kestrel Energy JSC", "Lotus Machinery Co Ltd",
        "Meridian Exchange", "Northwind Petroleum", "Orion Precision GmbH", "Pinnacle Bank", "Quarry Metals PJSC",
        "Radiant Optics Limited", "Sable Defense Industries", "Tundra Freight", "Umbra Technologies",
        "Vertex Semiconductor Corp.", "Willow Finance SA", "Xenon Avionics", "Yarrow Chemicals AG",
        "Zephyr Marine Services",
        # brand-style names without a legal form, as news reports write companies
        "Vantora", "Kelvix", "Brightwave Pay", "Lumora Vision", "Tessaly", "Quorin", "Norvia", "Zentro",
        "Ardent Pay", "Corvane", "Pelion Cloud", "Skyra", "Mirova Labs", "Okuni Vision"]
GOVS = ["Ministry of Defense", "Ministry of Industry", "State Security Service", "Defense Procurement Agency",
        "Revolutionary Guard Command", "National Oil Company", "Government of Eastland", "Central Bank of Eastland"]
# Single-word names of government departments ("Deputy Secretary of the Interior ...") and units inside one.
DEPTS = ["Interior", "Treasury", "Commerce", "Energy", "Labor"]
UNITS = ["Office of Trade Compliance", "Bureau of Export Licensing", "Division of Financial Intelligence",
         "Office of Market Integrity", "Bureau of Customs Review"]
# Vessels as notices write them: in capitals, with an IMO number after.
VESSELS = ["NORTHERN DAWN", "SEA ORCHID", "CASPIAN STAR", "BLUE HERON", "OCEAN MIST", "GOLDEN TIDE", "SILVER LAKE",
           "PACIFIC ROSE"]
# A state's armed forces or government written with a nationality ("the Estarian military").
STATE_FORCES = ["Estarian military", "Veloran military", "Karelian government", "Ostrovian military"]
PLACES = ["Hong Kong", "Dubai", "Istanbul", "Tehran", "Moscow", "Shenzhen", "Minsk", "Singapore", "Cyprus", "Kuala Lumpur"]

# One letter per relation keeps the table below readable.
O, D, S, R, F, A, M, E, P = ("ownership", "director", "supplier", "representative", "family",  # noqa: E741
                             "associate", "member", "employee", "partner")
T = [
    # ownership: the first slot named in the tuple is the owner
    ("{B} is a wholly owned subsidiary of {A}.", [(O, "A", "B", "stated")]),
    ("{B}, a {L}-based subsidiary of {A}, was also designated.", [(O, "A", "B", "stated")]),
    ("{B} is a sanctioned firm and a subsidiary of {A}, which is itself controlled by the {G}.", [(O, "A", "B", "stated"), (O, "G", "A", "stated")]),
    ("{A} used its {L}-based trading arm, {B}, to move the funds.", [(O, "A", "B", "stated")]),
    ("{A} and its subsidiary {B} were fined by the regulator.", [(O, "A", "B", "stated")]),
    ("{B}, owned by {L}-based {A}, chartered the vessel.", [(O, "A", "B", "stated")]),
    ("{B}, a unit of {A}, agreed to pay the penalty.", [(O, "A", "B", "stated")]),
    ("{B} is owned or controlled by {A}.", [(O, "A", "B", "stated")]),
    ("{B} is owned or controlled by, or has acted for or on behalf of, {A}.", [(O, "A", "B", "stated"), (R, "B", "A", "stated")]),
    ("OFAC designated {B} for being owned or controlled by {A}.", [(O, "A", "B", "stated")]),
    ("{A} owns {N} percent of {B}.", [(O, "A", "B", "stated")]),
    ("{A} holds a {N} percent stake in {B}.", [(O, "A", "B", "stated")]),
    ("{A} acquired a controlling interest in {B} in 2019.", [(O, "A", "B", "stated")]),
    ("{B} was acquired by {A} in 2021.", [(O, "A", "B", "stated")]),
    ("{A} invested $40 million in {B} last year.", [(O, "A", "B", "stated")]),
    ("{P}'s company, {B}, shipped the machines through {L}.", [(O, "P", "B", "stated")]),
    ("{B}, the {L} company owned by {P}, received the goods.", [(O, "P", "B", "stated")]),
    ("{P} owns {B}, a trading company in {L}.", [(O, "P", "B", "stated")]),
    ("{P}, the owner of {B}, was arrested in {L}.", [(O, "P", "B", "stated")]),
    ("{B} is controlled by {P} and focuses on electronics procurement.", [(O, "P", "B", "stated")]),
    ("{P} and his company, {B}, arranged the sales.", [(O, "P", "B", "stated")]),
    ("{A} is the parent company of {B}.", [(O, "A", "B", "stated")]),
    ("{B} operates as a front company for {A}.", [(O, "A", "B", "stated")]),
    ("{A}'s {L}-based front company, {B}, opened the bank accounts.", [(O, "A", "B", "stated")]),
    ("The {G} controls {B} through a holding company.", [(O, "G", "B", "stated")]),
    ("{B}, a state-owned subsidiary of the {G}, builds drones.", [(O, "G", "B", "stated")]),
    ("{B} falls under the {G}.", [(O, "G", "B", "stated")]),
    ("{B} is part of {A}, a state holding company.", [(O, "A", "B", "stated")]),
    ("{A} and {C} jointly own {B}.", [(O, "A", "B", "stated"), (O, "C", "B", "stated")]),
    ("{B} is majority-owned by {A} and minority-owned by {C}.", [(O, "A", "B", "stated"), (O, "C", "B", "stated")]),
    ("{A} sold its {N} percent stake in {B} in 2022.", [(O, "A", "B", "ended")]),
    ("{A} no longer holds any shares in {B}.", [(O, "A", "B", "ended")]),
    ("{B}, a former subsidiary of {A}, now trades under another name.", [(O, "A", "B", "ended")]),
    ("{A} divested {B} after the designation.", [(O, "A", "B", "ended")]),
    ("{P} acquired {B} from {Q} in 2018.", [(O, "P", "B", "stated"), (O, "Q", "B", "ended")]),
    ("{B} was previously owned by {A}.", [(O, "A", "B", "ended")]),
    ("{A} exited its investment in {B} last year.", [(O, "A", "B", "ended")]),
    ("{B}, an importer of industrial chemicals registered in {L}, is a subsidiary of state-controlled {A}.", [(O, "A", "B", "stated")]),
    ("{B} ({C}'s former partner and another {L}-based subsidiary of {A}) was designated in March.", [(O, "A", "B", "stated")]),
    ("The so-called \"{A},\" controlled by {P} and centered on his company {B}, was also designated.", [(O, "P", "A", "stated"), (O, "P", "B", "stated")]),
    ("{A}, which took control of {B} in 2017, denied any wrongdoing.", [(O, "A", "B", "stated")]),
    ("{P} bought a large share of {B}, a {L}-based refiner, in 2014.", [(O, "P", "B", "stated")]),
    # director / officer
    ("{P} is the general director of {B}.", [(D, "P", "B", "stated")]),
    ("{P}, the chief executive of {B}, signed the contracts.", [(D, "P", "B", "stated")]),
    ("{B} and its CEO {P} were designated.", [(D, "P", "B", "stated")]),
    ("The sanctions target {B} and its managing director, {P}.", [(D, "P", "B", "stated")]),
    ("{P}, the head of {B} and a former banker, was also designated.", [(D, "P", "B", "stated")]),
    ("{P}, the leader of {B}, is one of the country's richest men.", [(D, "P", "B", "stated")]),
    ("{P} and {Q}, the president and finance director, respectively, of {B}, were charged.", [(D, "P", "B", "stated"), (D, "Q", "B", "stated")]),
    ("{P} serves as chairman of the board of {B}.", [(D, "P", "B", "stated")]),
    ("{P} founded {B} in 2004 and still runs it.", [(D, "P", "B", "stated")]),
    ("{P} runs {B} from an office in {L}.", [(D, "P", "B", "stated")]),
    ("{P}, who operated a company called {B} in {L}, supplied the parts.", [(D, "P", "B", "stated")]),
    ("{L}-based {B} official {P} was also sanctioned.", [(D, "P", "B", "stated")]),
    ("{P} is a senior executive at {B}.", [(D, "P", "B", "stated")]),
    ("{P}, the former chief executive of {B}, left the company in 2020.", [(D, "P", "B", "ended")]),
    ("{P} previously served as a director of {B}.", [(D, "P", "B", "ended")]),
    ("\u201cWe will keep acting against these networks,\u201d said Deputy Secretary of the {I} {P}.", [(D, "P", "I", "stated")]),
    ("{I} Secretary {P} announced the measures on Tuesday.", [(D, "P", "I", "stated")]),
    ("{P}, director of the {U}, said the listing would cut off the network's funding.", [(D, "P", "U", "stated")]),
    ("The sanctions also target {B} and its director, {P}, for buying the aircraft.", [(D, "P", "B", "stated")]),
    ("{P}, assistant director of the {U}, announced the penalty.", [(D, "P", "U", "stated")]),
    # government departments and their units
    ("The {GD}'s {U} issued the order against {B}.", [(O, "GD", "U", "stated")]),
    ("Today, the {GD}'s {U} designated {B}.", [(O, "GD", "U", "stated")]),
    ("The case was investigated by the {U} of the {GD}.", [(O, "GD", "U", "stated")]),
    ("The U.S. {I} Department's {U} suspended the export privileges of {B}.", [(O, "ID", "U", "stated")]),
    ("The {I} Department's {U} and the {G} announced the charges.", [(O, "ID", "U", "stated")]),
    ("{B}, a division of {A}, agreed to pay the penalty.", [(O, "A", "B", "stated")]),
    ("{B}, of {L}, a division of {A}, of {L}, agreed to pay a civil penalty.", [(O, "A", "B", "stated")]),
    ("{B} of {L}, a division of {A}, settled the charges.", [(O, "A", "B", "stated")]),
    # employee / member
    ("{P}, an employee of {B}, placed the orders.", [(E, "P", "B", "stated")]),
    ("{P} works for {B} as a procurement agent.", [(E, "P", "B", "stated")]),
    ("{P} is a member of the {G}.", [(M, "P", "G", "stated")]),
    # representative / agent
    ("{P} was designated for acting on behalf of {B}.", [(R, "P", "B", "stated")]),
    ("{B} has acted or purported to act for or on behalf of, directly or indirectly, {A}.", [(R, "B", "A", "stated")]),
    ("{B} was designated for being the {L} agent for {A}.", [(R, "B", "A", "stated")]),
    ("{P} procured the equipment on behalf of the {G}.", [(R, "P", "G", "stated")]),
    ("{P} operated as an unregistered agent of the {G}.", [(R, "P", "G", "stated")]),
    ("{B} represents {A} in its dealings with foreign banks.", [(R, "B", "A", "stated")]),
    ("{P} and {Q} were designated for acting on behalf of a blocked company, {B}, which makes centrifuge parts.", [(R, "P", "B", "stated"), (R, "Q", "B", "stated")]),
    ("{P} was charged with unlawfully supplying the {G} with rare earth magnets.", [(S, "P", "G", "stated")]),
    ("{B} transferred the money to {C} on behalf of {A}.", [(R, "B", "A", "stated")]),
    # supplier (the first slot supplies the second)
    ("{A} supplied navigation modules to {B}.", [(S, "A", "B", "stated")]),
    ("{A} sold thousands of components to {B} between 2020 and 2023.", [(S, "A", "B", "stated")]),
    ("{A} was designated for supplying servomotors to {B}.", [(S, "A", "B", "stated")]),
    ("{A} procured machine tools for {B} from European suppliers.", [(S, "A", "B", "stated")]),
    ("{A} exported satellite equipment and provided training to {B}.", [(S, "A", "B", "stated")]),
    ("{A} shipped the chips to {B} through a distributor in {L}.", [(S, "A", "B", "stated")]),
    ("{B} bought the engines from {A}.", [(S, "A", "B", "stated")]),
    ("{B} sources its sensors from {A}.", [(S, "A", "B", "stated")]),
    ("{B} is a major customer of {A}.", [(S, "A", "B", "stated")]),
    ("{B} uses software licensed from {A}.", [(S, "A", "B", "stated")]),
    ("{A} is a key supplier to {B}.", [(S, "A", "B", "stated")]),
    ("{A} provides cloud services to {B}.", [(S, "A", "B", "stated")]),
    ("{A} makes drones used by the {G}.", [(S, "A", "G", "stated")]),
    ("{A} audits the accounts of {B}.", [(S, "A", "B", "stated")]),
    ("{B} appointed {A} as its auditor.", [(S, "A", "B", "stated")]),
    ("{A} delivered the parts to {B} for its missile program.", [(S, "A", "B", "stated")]),
    ("{B} stopped buying parts from {A} in 2021.", [(S, "A", "B", "ended")]),
    ("{B} was a customer of {A} until 2020.", [(S, "A", "B", "ended")]),
    ("{A} exported aircraft parts to {B}, owned by the {G}, in 2019.", [(S, "A", "B", "stated"), (O, "G", "B", "stated")]),
    ("{A}, of {L}, agreed to pay a $300,000 civil penalty to settle allegations that it illegally exported aircraft parts to {B} in 2004.", [(S, "A", "B", "stated")]),
    ("{A} also pled guilty to a charge that it violated export controls in connection with its export of spare parts to {B} in 2011.", [(S, "A", "B", "stated")]),
    ("{P} was charged with exporting sensors without a license to {B} in {L}.", [(S, "P", "B", "stated")]),
    # a product built on another's technology: the technology's owner supplies the product's maker
    ("{B}'s face recognition system is built on {A} technology.", [(S, "A", "B", "stated")]),
    ("{B} sells payment terminals built on technology from {A}.", [(S, "A", "B", "stated")]),
    ("The camera {B} markets runs on software developed by {A}.", [(S, "A", "B", "stated")]),
    ("{B}'s products rely on chips designed by {A}.", [(S, "A", "B", "stated")]),
    ("{B} licenses its core algorithms from {A}.", [(S, "A", "B", "stated")]),
    ("{A}'s technology powers the identity checks that {B} offers to banks.", [(S, "A", "B", "stated")]),
    ("{B} integrates the image recognition engine of {A} into its kiosks.", [(S, "A", "B", "stated")]),
    ("{A} sells its verification service to {B} and {C} through a reseller.", [(S, "A", "B", "stated"), (S, "A", "C", "stated")]),
    ("{B} and {C} pay for {A}'s service through an intermediary.", [(S, "A", "B", "stated"), (S, "A", "C", "stated")]),
    ("{B} says its cameras are not built on {A} technology.", []),
    ("{A} and {B} both sell face recognition software.", []),
    # partner / family / associate
    ("{A} signed a partnership with {B} to build a plant in {L}.", [(P, "A", "B", "stated")]),
    ("{A} formed a joint venture with {B} in {L}.", [(P, "A", "B", "stated")]),
    ("{P} is the son of {Q}.", [(F, "P", "Q", "stated")]),
    ("{P} married {Q} in 2013.", [(F, "P", "Q", "stated")]),
    ("{P}, the wife of {Q}, holds the shares.", [(F, "P", "Q", "stated")]),
    ("{P} is a close associate of {Q}.", [(A, "P", "Q", "stated")]),
    ("{P} married {Q}'s daughter {R} in 2015.", [(F, "P", "R", "stated"), (F, "Q", "R", "stated")]),
    ("{P} took over {B} from his father, {Q}, in 2016.", [(O, "P", "B", "stated"), (O, "Q", "B", "ended"), (F, "P", "Q", "stated")]),
    ("A wealthy investor and longtime friend of {Q}, {P} holds interests in mining.", [(A, "P", "Q", "stated")]),
    ("A businessman and close associate of {Q}, {P} controls several shipping firms.", [(A, "P", "Q", "stated")]),
    # vessels: the company that owns, operates or manages a ship
    ("The {L}-flagged tanker {V} (IMO 9{N}4512), owned and operated by {L}-based {A}, carried the oil.", [(O, "A", "V", "stated")]),
    ("The crude oil tanker {V} (IMO 93{N}881), owned, operated, and managed by {A}, has transported millions of barrels since 2023.", [(O, "A", "V", "stated")]),
    ("{A} is the registered owner of the vessel {V}.", [(O, "A", "V", "stated")]),
    ("{V} is managed by {L}-based {A}, which also manages two other tankers.", [(O, "A", "V", "stated")]),
    ("The vessel {V} called at a port in {L} in May.", []),
    # roles named by a possessive
    ("{P} serves as {B}'s leader and oversees its finances.", [(D, "P", "B", "stated")]),
    ("{P} is {B}'s accountant.", [(E, "P", "B", "stated")]),
    ("{B}'s chief financial officer, {P}, signed the invoices.", [(D, "P", "B", "stated")]),
    ("{P} is {B}'s managing director and {Q} is its procurement agent.", [(D, "P", "B", "stated"), (E, "Q", "B", "stated")]),
    ("{P}, {B}'s founder, moved the company to {L}.", [(D, "P", "B", "stated")]),
    ("{B}'s lawyer, {P}, declined to comment.", [(R, "P", "B", "stated")]),
    # support, in the words of designation notices
    ("{A} has provided, or attempted to provide, material, technological, or other support for, or goods or services in support of, {B}.", [(S, "A", "B", "stated")]),
    ("{A} is a leading supplier for {B}, including of goods used to build missiles.", [(S, "A", "B", "stated")]),
    ("{A} supplies electronic components to {B}.", [(S, "A", "B", "stated")]),
    ("{A} was designated for having materially assisted, sponsored, or provided financial support for {B}.", [(S, "A", "B", "stated")]),
    ("{P} was designated for acting for or on behalf of, and for providing material assistance to, {B}.", [(R, "P", "B", "stated")]),
    ("{A} was established to manage the assets of {B}.", [(O, "B", "A", "stated")]),
    ("{A} is the investment and management company for {P}'s business interests.", [(O, "P", "A", "stated")]),
    ("{A} invested $25 million in {B} in 2020.", [(O, "A", "B", "stated")]),
    ("{A} led a funding round in {B} last year.", [(O, "A", "B", "stated")]),
    # officials named in a release's opening sentence
    ("United States Attorney {P}, {Q}, Acting Chief of the {U} at the {GD}, and the {G} announced the plea.", [(D, "Q", "U", "stated"), (O, "GD", "U", "stated")]),
    ("{P}, Special Agent in Charge of the {U}, announced the charges with {Q}.", [(D, "P", "U", "stated")]),
    # how releases and notices also put it: divisions, branches, wings, executives, suppliers, staff (own words)
    ("{B}, a division of {A}, paid the fine last week.", [(O, "A", "B", "stated")]),
    ("{A} runs its overseas business through its branches {B} and {C}.", [(O, "A", "B", "stated"), (O, "A", "C", "stated")]),
    ("{B} is one of two front companies of {A}.", [(O, "A", "B", "stated")]),
    ("{B} is {A}'s main shipping arm and handles its exports.", [(O, "A", "B", "stated")]),
    ("{B} is the {X}'s largest holding company.", [(O, "X", "B", "stated")]),
    ("{X}-controlled {B} moves payments for the armed forces.", [(O, "X", "B", "stated")]),
    ("{A} relies on its regional {B} offices to run its operations abroad.", [(O, "A", "B", "stated")]),
    ("On May 3, the {U}, {GD}, issued a charging letter against {A}.", [(O, "GD", "U", "stated")]),
    ("The {U}, {GD}, is seeking public comment on the proposal.", [(O, "GD", "U", "stated")]),
    ("This notice, published by the {GD}'s {U}, sets out the new procedures.", [(O, "GD", "U", "stated")]),
    ("The {U} and its sister office both work inside the {GD}.", [(O, "GD", "U", "stated")]),
    ("{A}, through its vice president {P}, negotiated the sale.", [(D, "P", "A", "stated")]),
    ("The network is led by {P}, the chief executive and chairman of {A} and managing director of {B}.", [(D, "P", "A", "stated"), (D, "P", "B", "stated")]),
    ("{P}, a principal executive officer of {B}, was also designated.", [(D, "P", "B", "stated")]),
    ("{B} was founded by {P} and has been run by {Q} since 2020.", [(D, "P", "B", "stated"), (D, "Q", "B", "stated")]),
    ("{P}, the late founder of {A}, set up its finance office.", [(D, "P", "A", "ended")]),
    ("{P} was previously the head of {B}.", [(D, "P", "B", "ended")]),
    ("{P} is a senior member of {A} who recruits fighters.", [(M, "P", "A", "stated")]),
    ("The cell is run by senior {A} member {P}.", [(M, "P", "A", "stated")]),
    ("{P} is the official spokesperson for {A}.", [(R, "P", "A", "stated")]),
    ("{B} disclosed the crimes committed by its former engineer, {P}.", [(E, "P", "B", "ended")]),
    ("\u201cWe will keep acting,\u201d said {ID} official {P}.", [(E, "P", "ID", "stated")]),
    ("In 2021, {A} knowingly transferred 200 tons of steel to {B}.", [(S, "A", "B", "stated")]),
    ("{A} is a leading supplier of electronics for {B}.", [(S, "A", "B", "stated")]),
    ("{B} bought most of its chips from {A} between 2019 and 2022.", [(S, "A", "B", "stated")]),
    ("{A} has sold spare parts to {B} since 2018.", [(S, "A", "B", "stated")]),
    ("{A} delivered four cargo vessels to {B}.", [(S, "A", "B", "stated")]),
    ("{A} signed a cooperation agreement with {B} to build a plant in {L}.", [(P, "A", "B", "stated")]),
    ("In 2015 {A} changed its name to {B}.", []),
    ("{A} issued a temporary denial order against {B}.", []),
    ("The order suspends the export privileges of {A}, {B} and three of their shareholders.", []),
    ("{P} was sentenced by Judge {Q} of the District Court.", []),
    # parties in one sentence, in different clauses or far apart, with no relation between them
    ("{P} is the director of {A}, and {Q} and {R} are associates of {B}.", [(D, "P", "A", "stated"), (A, "Q", "B", "stated"), (A, "R", "B", "stated")]),
    ("{A} owns {B}, while {C} is a separate trading firm based in {L}.", [(O, "A", "B", "stated")]),
    ("{P}, a national of {L} who traveled to the United States several times a year, was sentenced for exporting parts, and for filing false documents with the {G} over five years.", []),
    ("{A} was fined in 2019; in a separate case, {B} agreed to pay a penalty for unrelated exports.", []),
    ("{P} was designated for acting on behalf of a senior official of the {G}.", []),
    ("{P} and {Q} were arrested in {L}, and {B} was added to the Entity List a week later.", []),
    ("The defendants concealed from U.S. suppliers that the goods were bound for {B} by shipping them to {A} and {C} in other countries.", []),
    ("{A} and {B} were added to the Entity List in November.", []),
    ("During the hearing, Judge {P} said the case showed the need for deterrence.", []),
    ("The {G} imposed sanctions on {A} on the same day that {B} was charged.", []),
    # no relation between the parties named
    ("OFAC designated {A} and {B} on the same day.", []),
    ("The designated entities are {L}-based {A}, {C} and {B}.", []),
    ("{A} and {B} were both added to the Entity List.", []),
    ("{A}, {B} and {C} were fined for unrelated violations.", []),
    ("Treasury also designated {B}, a {L}-based trading firm.", []),
    ("{B} is headquartered in {L}.", []),
    ("{P} met representatives of {B} in {L} in 2019.", []),
    ("{P} and {Q} were charged with conspiracy to export rifle scopes.", []),
    ("{A} is not a supplier to {B}.", []),
    ("{A} denied that it owns {B}.", []),
    ("{A} never sold parts to {B}, the company said.", []),
    ("{P} is not an employee of {B}.", []),
    ("The designation of {A} follows that of {B} in March.", []),
    ("{B} was added to the list, while {A} was not.", []),
    ("The network supplied thousands of components to {B}.", []),
    ("Any entity owned 50 percent or more by {A} is also blocked.", []),
    ("The {G} and {A} announced the measures together.", []),
    ("{A} and {B} both make infrared cameras.", []),
    ("{P} was sentenced in {L} for exporting parts to {B} without a license.", []),
    ("Like {A}, {B} operates in the defense sector.", []),
    ("{B} was designated pursuant to E.O. 14024 for operating in the technology sector.", []),
    ("According to {A}, the {G} received the shipments.", []),
]


def sentences(copies: int = 8, seed: int = 7) -> list[dict]:
    """Each template filled `copies` times with different stand-in parties, as marked sentences: the more fillers, the
    less the model can learn of the names and the more it must learn of the words around them."""
    rng = random.Random(seed)
    out = []
    for text, rels in T:
        for _ in range(copies):
            persons = rng.sample(PERSONS, 3)
            orgs = rng.sample(ORGS, 3)
            slots = {"P": persons[0], "Q": persons[1], "R": persons[2], "A": orgs[0], "B": orgs[1], "C": orgs[2],
                     "G": rng.choice(GOVS), "L": rng.choice(PLACES), "I": rng.choice(DEPTS), "U": rng.choice(UNITS),
                     "GD": "Department of " + rng.choice(DEPTS), "N": str(rng.choice([10, 25, 40, 51, 60, 100]))}
            slots["ID"] = slots["I"] + " Department"
            slots["X"] = rng.choice(STATE_FORCES)
            slots["V"] = rng.choice(VESSELS)
            s = text.format(**slots)
            out.append({"sentence": s, "relations": [
                {"relation": rel, "subject": [slots[a]], "object": [slots[b]], "status": status}
                for rel, a, b, status in rels]})
    return out
