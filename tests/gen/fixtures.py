#!/usr/bin/env python3
"""Synthetic EVE Online fixtures for the InsightCore tests.

    python3 tests/gen/fixtures.py --out DIR [--mails N] [--seed S] [--start-id ID]

Writes into DIR the same files, with the same columns, as the real data set
(systems.tsv jumps.tsv constellations.tsv regions.tsv types.tsv groups.tsv
categories.tsv names.tsv killmails.ndjson) plus a short README.

Why a fixed universe: tests need known answers (which system is lowsec, how
many jumps from A to B, which ids have no name), so everything except the
killmails is a constant of this file and does not depend on --seed.  The
killmails depend only on --seed and their index: mail i is the same whatever
--mails is, so a test that needs 20 mails gets the first 20 of the default 200.
Special mails sit at fixed indexes (see SPECIALS below and tests/fake/README.md).

Python 3 standard library only.
"""

import argparse
import hashlib
import json
import math
import os
import random
import sys
from datetime import datetime, timezone

LY = 9.46e15                       # CCP's jump-range light year, metres
BASE = (-9.0e16, 1.0e16, -4.0e16)  # universe position of grid point (0,0,0)
# Wormhole space is far off, as in EVE: 19-digit coordinates with many
# significant digits, which jq writes as integer literals (z beyond 64 bits).
WH_BASE = (6.82439111092887e18, 1.7007138104750124e18, -9.808807909109498e18)
TIME0 = 1783123200                 # 2026-07-04T00:00:00Z

# ---------------------------------------------------------------- universe

REGIONS = [
    (10000001, "Synthia"),
    (10000002, "Deepvoid"),
    (10000003, "Farshore"),
    (10000070, "Pochven"),
    (11000001, "W-R00001"),
    (12000001, "ADR01"),
]

CONSTELLATIONS = [
    (20000001, "Core Home", 10000001),
    (20000002, "Border March", 10000001),
    (20000003, "Sunless", 10000002),
    (20000004, "Farrim", 10000002),
    (20000005, "Outcast", 10000003),
    (20000006, "Krai Synth", 10000070),
    (21000001, "W-C00001", 11000001),
    (22000001, "ADC01", 12000001),
]

# system_id, name, constellation, security, grid position in light years
SYSTEMS = [
    (30000001, "Arvoda", 20000001, 1.0, (0, 0, 0)),
    (30000002, "Bexlin", 20000001, 0.945913, (1, 0, 0)),
    (30000003, "Corvath", 20000001, 0.87, (2, 0, 0)),
    (30000004, "Dunmere", 20000001, 0.7, (3, 0, 0)),
    (30000005, "Elsbor", 20000001, 0.45, (4, 0, 0)),
    (30000006, "Fjarn", 20000001, 0.62, (2, 2, 0)),
    (30000007, "Gavrin", 20000001, 0.51, (3, 3, 0)),
    (30000008, "Halstad", 20000001, 0.5, (4, 4, 0)),
    (30000009, "Irmak", 20000002, 0.449, (5, 4, 0)),
    (30000010, "Jorvik", 20000002, 0.35, (6, 4, 0)),
    (30000011, "Kesslin", 20000002, 0.25, (7, 4, 1)),
    (30000012, "Lomar", 20000002, 0.04, (6, 5, 0)),
    (30000013, "Mirvat", 20000002, 0.15, (7, 6, 0)),
    (30000014, "Nesker", 20000002, 0.1, (8, 6, 0)),
    (30000015, "D-0A1", 20000003, 0.0, (9, 6, 0)),
    (30000016, "D-0B2", 20000003, -0.05, (10, 6, 0)),
    (30000017, "D-0C3", 20000003, -0.2, (11, 6, 0)),
    (30000018, "D-0D4", 20000003, -0.35, (12, 6, 0)),
    (30000019, "D-0E5", 20000003, -0.5, (12, 7, 0)),
    (30000020, "D-0F6", 20000003, -0.75, (13, 7, 0)),
    (30000021, "D-0G7", 20000003, -1.0, (14, 7, 0)),
    (30000022, "F-1A1", 20000004, -0.1, (15, 7, 0)),
    (30000023, "F-1B2", 20000004, -0.3, (16, 7, 0)),
    (30000024, "F-1C3", 20000004, -0.45, (17, 7, 0)),
    (30000025, "F-1D4", 20000004, -0.6, (17, 8, 0)),
    (30000026, "F-1E5", 20000004, -0.8, (16, 9, 0)),
    (30000027, "F-1F6", 20000004, -0.9, (15, 8, 0)),
    (30000028, "Isle-A", 20000005, 0.3, (12, 2, 0)),
    (30000029, "Isle-B", 20000005, 0.1, (13, 2, 0)),
    (30000030, "Isle-C", 20000005, -0.2, (13, 1, 0)),
    (30000031, "Isle-D", 20000005, -0.5, (12, 1, 0)),
    (30000032, "Kuvasz", 20000006, -1.0, (17, 10, 0)),
    (30000033, "Tarvo", 20000006, -1.0, (18, 10, 0)),
    (30000034, "Ukko", 20000006, -1.0, (18, 11, 0)),
    (30000035, "Lonestar", 20000005, -0.3, (10, 3, 0)),
    (31000001, "J100001", 21000001, -0.99, (5, 0, 3)),
    (31000002, "J100002", 21000001, -0.99, (6, 0, 3)),
    (31000003, "J100003", 21000001, -0.99, (20, 10, 2)),
    (31000004, "J100004", 21000001, -0.99, (0, 5, 5)),
    (32000001, "AD001", 22000001, -0.99, (10, -3, 8)),
]

# undirected stargate links; jumps.tsv gets both directions
GATES = [
    (30000001, 30000002), (30000002, 30000003), (30000003, 30000004),
    (30000004, 30000005), (30000005, 30000006), (30000006, 30000007),
    (30000007, 30000008), (30000002, 30000006),
    (30000008, 30000009),
    (30000009, 30000010), (30000010, 30000011), (30000011, 30000012),
    (30000012, 30000013), (30000013, 30000014), (30000009, 30000012),
    (30000014, 30000015),
    (30000015, 30000016), (30000016, 30000017), (30000017, 30000018),
    (30000018, 30000019), (30000019, 30000020), (30000020, 30000021),
    (30000016, 30000019),
    (30000021, 30000022),
    (30000022, 30000023), (30000023, 30000024), (30000024, 30000025),
    (30000025, 30000026), (30000026, 30000027), (30000027, 30000022),
    (30000026, 30000032),
    (30000032, 30000033), (30000033, 30000034), (30000034, 30000032),
    (30000028, 30000029), (30000029, 30000030), (30000030, 30000031),
    (30000031, 30000028),
]

HIGH = [s[0] for s in SYSTEMS if 30000001 <= s[0] <= 30000008]
LOW = [s[0] for s in SYSTEMS if 30000009 <= s[0] <= 30000014]
NULL = [s[0] for s in SYSTEMS if 30000015 <= s[0] <= 30000027]
ISLAND = [30000028, 30000029, 30000030, 30000031, 30000035]
POCHVEN = [30000032, 30000033, 30000034]
WORMHOLE = [31000001, 31000002, 31000003, 31000004]
ABYSSAL = [32000001]

# ---------------------------------------------------------------- types

CATEGORIES = [
    (2, "Celestial"), (4, "Material"), (6, "Ship"), (7, "Module"),
    (8, "Charge"), (11, "Entity"), (18, "Drone"), (22, "Deployable"),
    (46, "Orbitals"), (65, "Structure"), (87, "Fighter"),
]

GROUPS = [
    (10, "Stargate", 2), (340, "Secure Cargo Container", 2),
    (18, "Mineral", 4),
    (25, "Frigate", 6), (26, "Cruiser", 6), (27, "Battleship", 6),
    (28, "Hauler", 6), (29, "Capsule", 6), (30, "Titan", 6),
    (358, "Heavy Assault Cruiser", 6), (419, "Combat Battlecruiser", 6),
    (420, "Destroyer", 6), (485, "Dreadnought", 6), (541, "Interdictor", 6),
    (547, "Carrier", 6), (659, "Supercarrier", 6), (831, "Interceptor", 6),
    (898, "Black Ops", 6), (963, "Strategic Cruiser", 6),
    (1305, "Tactical Destroyer", 6), (1538, "Force Auxiliary", 6),
    (38, "Shield Extender", 7), (46, "Propulsion Module", 7),
    (52, "Warp Scrambler", 7), (53, "Energy Weapon", 7),
    (55, "Projectile Weapon", 7), (60, "Damage Control", 7),
    (65, "Stasis Web", 7), (74, "Hybrid Weapon", 7),
    (508, "Missile Launcher Torpedo", 7), (509, "Missile Launcher Light", 7),
    (510, "Missile Launcher Heavy", 7), (1986, "Precursor Weapon", 7),
    (384, "Light Missile", 8), (385, "Heavy Missile", 8),
    (99, "Sentry Gun", 11), (182, "Police Drone", 11),
    (301, "Concord Drone", 11), (562, "Asteroid Guristas Frigate", 11),
    (1310, "Drifter Battleship", 11),
    (1982, "Abyssal Spaceship Entities", 11),
    (100, "Combat Drone", 18),
    (1246, "Mobile Depot", 22), (1250, "Mobile Tractor Unit", 22),
    (1025, "Orbital Infrastructure", 46),
    (1404, "Engineering Complex", 65), (1406, "Refinery", 65),
    (1657, "Citadel", 65),
    (1537, "Support Fighter", 87),
]

# type_id, name, group_id, value in ISK (hull or item)
TYPES = [
    (16, "Stargate (Caldari System)", 10, 0),
    (29627, "Stargate (Caldari Constellation)", 10, 0),
    (29629, "Stargate (Caldari Region)", 10, 0),
    (3467, "Small Secure Container", 340, 25000),
    (34, "Tritanium", 18, 4), (35, "Pyerite", 18, 8),
    (587, "Rifter", 25, 600000), (593, "Tristan", 25, 550000),
    (597, "Punisher", 25, 500000), (602, "Kestrel", 25, 450000),
    (603, "Merlin", 25, 520000), (33468, "Astero", 25, 60000000),
    (621, "Caracal", 26, 12000000), (622, "Stabber", 26, 11000000),
    (626, "Vexor", 26, 13000000), (627, "Thorax", 26, 12500000),
    (640, "Scorpion", 27, 210000000), (641, "Megathron", 27, 220000000),
    (645, "Dominix", 27, 200000000), (24690, "Hyperion", 27, 230000000),
    (24692, "Abaddon", 27, 240000000), (17738, "Machariel", 27, 520000000),
    (648, "Badger", 28, 1200000), (649, "Tayra", 28, 2500000),
    (670, "Capsule", 29, 10000),
    (33328, "Capsule - Genolution 'Auroral' 197-variant", 29, 10000),
    (671, "Erebus", 30, 95000000000), (11567, "Avatar", 30, 98000000000),
    (23773, "Ragnarok", 30, 92000000000),
    (12005, "Ishtar", 358, 220000000),
    (24698, "Drake", 419, 55000000), (24702, "Hurricane", 419, 52000000),
    (16242, "Thrasher", 420, 1500000),
    (19720, "Revelation", 485, 2800000000), (19722, "Naglfar", 485, 2700000000),
    (52907, "Zirnitra", 485, 3200000000),
    (22456, "Sabre", 541, 70000000),
    (23757, "Archon", 547, 1700000000), (23911, "Thanatos", 547, 1750000000),
    (22852, "Hel", 659, 24000000000), (23913, "Nyx", 659, 25000000000),
    (11176, "Crow", 831, 30000000), (11200, "Taranis", 831, 32000000),
    (22436, "Widow", 898, 1100000000),
    (29984, "Tengu", 963, 450000000), (29990, "Loki", 963, 430000000),
    (34562, "Svipul", 1305, 60000000), (35683, "Hecate", 1305, 58000000),
    (37604, "Apostle", 1538, 2300000000), (37606, "Lif", 1538, 2250000000),
    (3841, "Large Shield Extender II", 38, 3500000),
    (440, "5MN Microwarpdrive II", 46, 2500000),
    (12058, "10MN Afterburner II", 46, 1800000),
    (448, "Warp Scrambler II", 52, 1500000),
    (3057, "Mega Pulse Laser II", 53, 4000000),
    (2889, "200mm AutoCannon II", 55, 900000),
    (2961, "1400mm Howitzer Artillery II", 55, 5000000),
    (2977, "280mm Howitzer Artillery II", 55, 1000000),
    (2048, "Damage Control II", 60, 1200000),
    (527, "Stasis Webifier II", 65, 1300000),
    (3178, "Light Neutron Blaster II", 74, 800000),
    (3082, "250mm Railgun II", 74, 1600000),
    (2420, "Torpedo Launcher II", 508, 3000000),
    (2404, "Light Missile Launcher II", 509, 700000),
    (2410, "Heavy Missile Launcher II", 510, 1900000),
    (52915, "Ultratidal Entropic Disintegrator I", 1986, 150000000),
    (210, "Scourge Light Missile", 384, 60), (209, "Scourge Heavy Missile", 385, 180),
    (3740, "Caldari Sentry Gun I", 99, 0),
    (9970, "Caldari Police 3rd Lieutenant", 182, 0),
    (3885, "CONCORD Police Captain", 301, 0),
    (23334, "Dire Guristas Destructor", 562, 0),
    (34495, "Drifter Battleship", 1310, 0),
    (48088, "Tangling Damavik", 1982, 0),
    (2456, "Hobgoblin II", 100, 500000), (2488, "Warrior II", 100, 400000),
    (33474, "Mobile Depot", 1246, 900000),
    (33475, "Mobile Tractor Unit", 1250, 10000000),
    (2233, "Customs Office", 1025, 200000000),
    (35825, "Raitaru", 1404, 1900000000), (35826, "Azbel", 1404, 11000000000),
    (35835, "Athanor", 1406, 2100000000), (35836, "Tatara", 1406, 13000000000),
    (35832, "Astrahus", 1657, 1600000000), (35833, "Fortizar", 1657, 9500000000),
    (35834, "Keepstar", 1657, 190000000000),
    (40347, "Dromi I", 1537, 5000000),
]

TYPE = {t[0]: t for t in TYPES}
GROUP_OF = {t[0]: t[2] for t in TYPES}
CATEGORY_OF_GROUP = {g[0]: g[2] for g in GROUPS}
CAPITAL_GROUPS = {30, 485, 547, 659, 1538}

SHIPS_SMALL = [587, 593, 597, 602, 603, 16242, 11176, 11200, 34562, 35683, 33468]
SHIPS_MEDIUM = [621, 622, 626, 627, 12005, 24698, 24702, 22456, 29984, 29990]
SHIPS_LARGE = [640, 641, 645, 24690, 24692, 17738, 22436]
SHIPS_CAP = [19720, 19722, 52907, 23757, 23911, 37604, 37606]
SHIPS_SUPER = [22852, 23913]
SHIPS_TITAN = [671, 11567, 23773]
HAULERS = [648, 649]
STRUCTURES = [35825, 35826, 35832, 35833, 35835, 35836]
WEAPONS = [3057, 2889, 2961, 2977, 3178, 3082, 2420, 2404, 2410, 2456, 2488]
MODULES = [3841, 440, 12058, 448, 2048, 527]

# ---------------------------------------------------------------- owners

FACTIONS = [
    (500001, "Caldari State"), (500002, "Minmatar Republic"),
    (500003, "Amarr Empire"), (500004, "Gallente Federation"),
    (500010, "Guristas Pirates"), (500024, "Drifters"),
    (500026, "Triglavian Collective"),
]
NPC_CORPS = [
    (1000044, "School of Applied Knowledge"), (1000125, "CONCORD"),
    (1000127, "Guristas"), (1000167, "State War Academy"),
    (1000180, "State Protectorate"), (1000182, "Tribal Liberation Force"),
]

N_ALLIANCES = 10        # 99000001..99000010
N_CORPS = 60            # 98000001..98000060
N_CHARS = 610           # 90000001..90000610
NEW_CHARS = 10          # 2112000001..2112000010
# ids used in killmails but deliberately absent from names.tsv
UNNAMED_CHARS = [90000901, 90000902, 90000903, 90000904, 90000905]
UNNAMED_CORP = 98000099
UNNAMED_ALLIANCE = 99000099

SPECIAL_NAMES = {
    # unicode, quoting, markup and mention bait, maximum lengths
    90000007: "Zoë Ångström",
    90000008: "Пилот Иванов",
    90000009: "東京 ドリフト",
    90000010: ("Abcdefghijklm Nopqrstuvwxyz Abcdefghijkl")[:37],  # 37 chars
    90000011: 'Mr "Quote" Back\\slash',
    90000012: "Under_score *Star* `Tick`",
    90000013: "@everyone",
    90000014: "<@&123456789> & <b>",
    98000007: "Société Générale de Minage",
    98000008: "🚀 Rocket Science Inc.",
    98000009: "Abcdefghij Klmnopqrst Uvwxyzabcd Efghijklmn Opqrst",  # 50
    98000010: "<Tags> & \"Ampersands\" || ~~strike~~",
    99000003: "Ωmega Σynthetic Alliance",
    99000004: "Abcdefghij Klmnopqrst Uvwxyzabcd Efghijklmn Opqrs.",  # 50
}
assert len(SPECIAL_NAMES[90000010]) == 37
assert len(SPECIAL_NAMES[98000009]) == 50 and len(SPECIAL_NAMES[99000004]) == 50

FIRST = ["Arin", "Bela", "Cato", "Dara", "Eris", "Falk", "Gala", "Hiro",
         "Ilse", "Joss", "Kael", "Lira", "Mako", "Nyra", "Oren", "Pell",
         "Quin", "Rhea", "Soren", "Tova", "Ulla", "Varn", "Wren", "Xia",
         "Yuri", "Zane"]
LAST = ["Vash", "Torrin", "Okabe", "Lindqvist", "Marr", "Sato", "Kovac",
        "Dray", "Halloran", "Ishida", "Nakamura", "Oyelaran", "Petrov",
        "Quill", "Rask", "Stroud", "Tamsin", "Ulven", "Voss", "Whitlock"]
CORP_A = ["Iron", "Crimson", "Silent", "Void", "Stellar", "Rust", "Frozen",
          "Burning", "Hollow", "Golden", "Shadow", "Azure"]
CORP_B = ["Miners", "Raiders", "Logistics", "Syndicate", "Industries",
          "Vanguard", "Collective", "Holdings", "Brigade", "Expeditions"]
ALLY_A = ["Northern", "Goonish", "Pandemic", "Test", "Fraternal", "Brave",
          "Legion", "Circle", "Horde", "Coalition"]


def alliance_of_corp(c):
    """Corps 1..40 are in alliances (4 each), 41..52 have none, 53..60 are
    faction-warfare corps without alliance."""
    k = c - 98000000
    if 1 <= k <= 40:
        return 99000000 + (k - 1) // 4 + 1
    if c == UNNAMED_CORP:
        return UNNAMED_ALLIANCE
    return None


def faction_of_corp(c):
    k = c - 98000000
    if 53 <= k <= 56:
        return 500001
    if 57 <= k <= 60:
        return 500002
    return None


def build_owners():
    rng = random.Random(20260704)
    names = {}
    for fid, n in FACTIONS:
        names[fid] = ("faction", n)
    for cid, n in NPC_CORPS:
        names[cid] = ("corporation", n)
    for k in range(1, N_ALLIANCES + 1):
        a = 99000000 + k
        names[a] = ("alliance", SPECIAL_NAMES.get(
            a, "%s %s Alliance" % (ALLY_A[k - 1], rng.choice(CORP_B))))
    used = set()
    for k in range(1, N_CORPS + 1):
        c = 98000000 + k
        n = SPECIAL_NAMES.get(c)
        while n is None or n in used:
            n = "%s %s" % (rng.choice(CORP_A), rng.choice(CORP_B))
            if n in used:
                n = "%s %s %d" % (rng.choice(CORP_A), rng.choice(CORP_B), k)
        used.add(n)
        names[c] = ("corporation", n)
    chars = {}   # char id -> (corp, security status)
    corps = [98000000 + k for k in range(1, N_CORPS + 1)]
    ids = [90000000 + k for k in range(1, N_CHARS + 1)]
    ids += [2112000000 + k for k in range(1, NEW_CHARS + 1)]
    for i, ch in enumerate(ids):
        n = SPECIAL_NAMES.get(ch)
        while n is None or n in used:
            n = "%s %s" % (rng.choice(FIRST), rng.choice(LAST))
            if n in used:
                n = "%s %s %s" % (rng.choice(FIRST), rng.choice(LAST),
                                  rng.choice(FIRST)[:2])
        used.add(n)
        names[ch] = ("character", n)
        if 90000591 <= ch <= 90000600:           # newbies in NPC corps
            corp = 1000044 if ch % 2 else 1000167
        else:
            corp = corps[i % N_CORPS]
        chars[ch] = (corp, round(rng.uniform(-10, 5), 1))
    for ch in UNNAMED_CHARS:
        chars[ch] = (UNNAMED_CORP, round(rng.uniform(-5, 5), 1))
    return names, chars


# ---------------------------------------------------------------- helpers

def sec_class(system_id, sec):
    if system_id >= 32000000:
        return "abyssal"
    if system_id >= 31000000:
        return "wormhole"
    if system_id in POCHVEN:
        return "pochven"
    if sec >= 0.45:
        return "highsec"
    if sec > 0:
        return "lowsec"
    return "nullsec"


def stargate_ids(jump_rows):
    """Same rule as tests/fake/fake.py: the k-th row (1-based, file order)
    of jumps.tsv, a->b, is stargate 50000000+k in system a."""
    gates = {}
    for k, (a, b) in enumerate(jump_rows, 1):
        gates.setdefault(a, []).append(50000000 + k)
    return gates


def fmt_time(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def tz_label(hour):
    if hour < 4:
        return "tz:use"
    if hour < 8:
        return "tz:usw"
    if hour < 12:
        return "tz:au"
    if hour < 16:
        return "tz:ru"
    return "tz:eu"


def size_label(n, solo):
    if solo:
        return "solo"
    for lim, lab in ((1000, "#:1000+"), (100, "#:100+"), (50, "#:50+"),
                     (25, "#:25+"), (10, "#:10+"), (5, "#:5+"), (2, "#:2+")):
        if n >= lim:
            return lab
    return "#:1"


def isk_label(v):
    for lim, lab in ((1e12, "isk:1t+"), (1e11, "isk:100b+"), (1e10, "isk:10b+"),
                     (5e9, "isk:5b+"), (1e9, "isk:1b+")):
        if v >= lim:
            return lab
    return None


# ---------------------------------------------------------------- killmails

SPECIALS = """\
index i (0-based) -> what mail i is (when i < --mails):
  i % 70 == 3   big fight: structure victim (Fortizar/Keepstar, no character),
                500..515 attackers, nullsec
  i % 50 == 10  titan kill (Avatar/Erebus/Ragnarok), 100..130 attackers incl.
                dreadnoughts and carriers, lowsec or nullsec
  i % 25 == 5   capital kill (dread/carrier/FAX/supercarrier), 20..50 attackers
  i % 20 == 7   NPC kill (no attacker has a character_id; zkb.npc true)
  i % 30 == 13  awox (an attacker shares the victim's corporation; zkb.awox)
  i % 40 == 17  structure at a moon (Athanor/Tatara, moon_id set)
  i % 15 == 2   war kill (war_id set), highsec
  i % 33 == 21  wormhole kill;  i % 45 == 22  abyssal NPC kill;
  i % 35 == 24  Pochven kill;  i % 28 == 26  island kill (30000028..31)
  i % 60 == 29  victim or attacker without a name in names.tsv
  otherwise     solo (about 45 %), gang of 2..10, fleet of 11..40; about a
                quarter of ship kills are followed by the pod of the same pilot
zkb: absent when i % 10 == 9; 2018-style (no droppedValue, destroyedValue,
labels, attackerCount, href) when i % 20 == 11; no locationID when i % 20 == 19.
"""


class Gen:
    def __init__(self, seed, start_id, names, chars):
        self.rng = random.Random(seed)
        self.seed = seed
        self.start_id = start_id
        self.names = names
        self.chars = chars
        self.sys = {s[0]: s for s in SYSTEMS}
        self.t = TIME0
        self.pending_pod = None
        self.char_ids = sorted(c for c in chars if c not in UNNAMED_CHARS)
        jump_rows = sorted(set(GATES) | {(b, a) for a, b in GATES})
        self.gates = stargate_ids(jump_rows)

    # -- parties
    def pilot(self, ch):
        corp, sec = self.chars[ch]
        p = {"character_id": ch, "corporation_id": corp}
        al = alliance_of_corp(corp)
        if al:
            p["alliance_id"] = al
        fac = faction_of_corp(corp)
        if fac:
            p["faction_id"] = fac
        return p, sec

    def pick_chars(self, n, exclude=()):
        pool = [c for c in self.char_ids if c not in exclude]
        return self.rng.sample(pool, min(n, len(pool)))

    def attacker(self, ch, ships):
        rng = self.rng
        p, sec = self.pilot(ch)
        ship = rng.choice(ships)
        a = dict(p)
        a["security_status"] = sec
        a["ship_type_id"] = ship
        a["weapon_type_id"] = rng.choice(WEAPONS)
        return a

    def npc_attackers(self, system_id):
        rng = self.rng
        cls = sec_class(system_id, self.sys[system_id][3])
        if cls == "highsec":
            return [{"corporation_id": 1000125, "faction_id": 500001,
                     "security_status": 0, "ship_type_id": 3885}] + \
                ([{"corporation_id": 1000125, "security_status": 0,
                   "ship_type_id": 9970}] if rng.random() < 0.5 else [])
        if cls in ("abyssal", "pochven"):
            return [{"faction_id": 500026, "security_status": 0,
                     "ship_type_id": 48088,
                     "weapon_type_id": 52915} for _ in range(rng.randint(1, 3))]
        if cls == "wormhole":
            return [{"faction_id": 500024, "security_status": 0,
                     "ship_type_id": 34495}]
        if cls == "lowsec" and rng.random() < 0.5:
            return [{"faction_id": 500001, "security_status": 0,
                     "ship_type_id": 3740}]
        return [{"corporation_id": 1000127, "faction_id": 500010,
                 "security_status": 0, "ship_type_id": 23334}
                for _ in range(rng.randint(1, 4))]

    # -- items and values
    def items(self, ship):
        rng = self.rng
        g = GROUP_OF[ship]
        if CATEGORY_OF_GROUP[g] != 6 or g == 29:
            return []
        out = []
        flags_hi = list(range(27, 35))
        flags_mid = list(range(19, 27))
        flags_lo = list(range(11, 19))
        for _ in range(rng.randint(1, 4)):
            out.append((rng.choice(flags_hi), rng.choice(WEAPONS[:9]), 1))
        for m in rng.sample(MODULES, rng.randint(1, 4)):
            fl = flags_lo.pop(0) if m == 2048 else flags_mid.pop(0)
            out.append((fl, m, 1))
        if rng.random() < 0.3:
            out.append((87, rng.choice([2456, 2488]), rng.randint(1, 5)))
        res = []
        for fl, t, q in out:
            it = {"flag": fl, "item_type_id": t}
            key = "quantity_dropped" if rng.random() < 0.45 else "quantity_destroyed"
            it[key] = q
            it["singleton"] = 0
            res.append(it)
        if rng.random() < 0.25:
            cont = {"flag": 5, "item_type_id": 3467,
                    "items": [{"flag": 5, "item_type_id": rng.choice([34, 35]),
                               "quantity_destroyed": rng.randint(100, 50000),
                               "singleton": 0}],
                    "quantity_dropped": 1, "singleton": 1}
            res.append(cont)
        if rng.random() < 0.3:
            res.append({"flag": 5, "item_type_id": 210,
                        "quantity_dropped": rng.randint(50, 2000), "singleton": 0})
        return res

    @staticmethod
    def values(ship, items):
        hull = TYPE[ship][3]
        fitted = hull
        dropped = destroyed = 0.0
        destroyed += hull

        def walk(lst):
            nonlocal fitted, dropped, destroyed
            for it in lst:
                v = TYPE[it["item_type_id"]][3]
                q_d = it.get("quantity_dropped", 0)
                q_x = it.get("quantity_destroyed", 0)
                dropped += v * q_d
                destroyed += v * q_x
                if 11 <= it["flag"] <= 34 or 92 <= it["flag"] <= 99:
                    fitted += v * (q_d + q_x)
                walk(it.get("items", []))
        walk(items)
        return (float(round(fitted, 2)), float(round(dropped, 2)),
                float(round(destroyed, 2)))

    # -- one mail
    def mail(self, i):
        rng = self.rng
        kid = self.start_id + i
        special = None
        for mod, rem, name in ((70, 3, "bigfight"), (50, 10, "titan"),
                               (25, 5, "capital"), (20, 7, "npc"),
                               (30, 13, "awox"), (40, 17, "moon"),
                               (15, 2, "war"), (33, 21, "wormhole"),
                               (45, 22, "abyssal"), (35, 24, "pochven"),
                               (28, 26, "island"), (60, 29, "unnamed")):
            if i % mod == rem:
                special = name
                break
        if self.pending_pod and special is None and rng.random() < 0.9:
            self.t += rng.randint(5, 60)      # pods die seconds after the ship
            return self.pod_mail(i, kid)
        self.t += rng.randint(60, 800)
        self.pending_pod = None
        return self.build(i, kid, special)

    def system_for(self, special):
        rng = self.rng
        if special in ("bigfight", "capital"):
            return rng.choice(NULL)
        if special == "titan":
            return rng.choice(LOW + NULL)
        if special == "war":
            return rng.choice(HIGH)
        if special == "wormhole":
            return rng.choice(WORMHOLE)
        if special == "abyssal":
            return ABYSSAL[0]
        if special == "pochven":
            return rng.choice(POCHVEN)
        if special == "island":
            return rng.choice(ISLAND[:4])
        if special == "moon":
            return rng.choice(LOW + NULL)
        r = rng.random()
        if r < 0.3:
            return rng.choice(HIGH)
        if r < 0.55:
            return rng.choice(LOW)
        if r < 0.9:
            return rng.choice(NULL)
        return rng.choice(WORMHOLE + ISLAND)

    def build(self, i, kid, special):
        rng = self.rng
        system = self.system_for(special)
        victim_char = None
        if special == "bigfight":
            ship = rng.choice([35833, 35833, 35834])
            n_att = rng.randint(500, 515)
        elif special == "moon":
            ship = rng.choice([35835, 35836])
            n_att = rng.randint(5, 40)
        elif special == "titan":
            ship = rng.choice(SHIPS_TITAN)
            n_att = rng.randint(100, 130)
        elif special == "capital":
            ship = rng.choice(SHIPS_CAP + SHIPS_SUPER)
            n_att = rng.randint(20, 50)
        else:
            r = rng.random()
            if r < 0.05:
                ship = rng.choice([33474, 33475, 2233, 35832])
            elif r < 0.1:
                ship = rng.choice(HAULERS)
            else:
                ship = rng.choice(SHIPS_SMALL * 3 + SHIPS_MEDIUM * 2 + SHIPS_LARGE)
            if special in ("npc", "abyssal"):
                n_att = 0
            else:
                r = rng.random()
                n_att = 1 if r < 0.45 else rng.randint(2, 10) if r < 0.8 \
                    else rng.randint(11, 40)
        cat = CATEGORY_OF_GROUP[GROUP_OF[ship]]
        victim = {}
        if cat == 6:
            if special == "unnamed" and rng.random() < 0.5:
                victim_char = rng.choice(UNNAMED_CHARS)
            else:
                victim_char = rng.choice(self.char_ids)
            p, _ = self.pilot(victim_char)
            victim.update(p)
        else:
            corp = 98000000 + rng.randint(1, N_CORPS)
            victim["corporation_id"] = corp
            if alliance_of_corp(corp):
                victim["alliance_id"] = alliance_of_corp(corp)
        # attackers
        if n_att == 0:
            attackers = self.npc_attackers(system)
        else:
            # nobody shoots a corp or alliance mate, except on awox mails
            vc, va = victim.get("corporation_id"), victim.get("alliance_id")
            exclude = {victim_char} | {
                c for c in self.char_ids
                if self.chars[c][0] == vc or
                (va and alliance_of_corp(self.chars[c][0]) == va)}
            chars = self.pick_chars(n_att, exclude)
            if special == "unnamed" and victim_char not in UNNAMED_CHARS:
                chars[-1] = rng.choice(UNNAMED_CHARS)
            if special in ("titan", "capital", "bigfight"):
                ships = SHIPS_LARGE + SHIPS_CAP + SHIPS_MEDIUM
            else:
                ships = SHIPS_SMALL + SHIPS_MEDIUM + SHIPS_LARGE
            attackers = [self.attacker(c, ships) for c in chars]
            if special == "titan":
                for a in attackers[:3]:
                    a["ship_type_id"] = rng.choice(SHIPS_TITAN + SHIPS_SUPER)
            if special == "awox" and "corporation_id" in victim:
                a = attackers[0]
                mates = [c for c in self.char_ids
                         if self.chars[c][0] == victim["corporation_id"]
                         and c != victim_char and c not in chars]
                if mates:
                    p, sec = self.pilot(rng.choice(mates))
                    for k in ("character_id", "corporation_id", "alliance_id",
                              "faction_id"):
                        a.pop(k, None)
                    a.update(p)
                    a["security_status"] = sec
            if special == "bigfight":
                # a structure among the attackers (no pilot) and one NPC
                attackers.append({"corporation_id": victim["corporation_id"] % 7 + 98000011,
                                  "security_status": 0, "ship_type_id": 35832})
        damage = self.damage(ship)
        self.split_damage(attackers, damage)
        victim["damage_taken"] = damage
        items = self.items(ship)
        if items:
            victim["items"] = items
        victim["position"] = {ax: round(rng.uniform(-1e12, 1e12), 3)
                              for ax in ("x", "y", "z")}
        victim["ship_type_id"] = ship
        esi = {"attackers": attackers, "killmail_id": kid,
               "killmail_time": fmt_time(self.t)}
        if special == "moon":
            esi["moon_id"] = 40000000 + (system % 1000) * 100 + rng.randint(1, 20)
        esi["solar_system_id"] = system
        esi["victim"] = victim
        if special == "war":
            esi["war_id"] = 740000 + rng.randint(1, 6)
        if cat == 6 and GROUP_OF[ship] != 29 and victim_char and \
                rng.random() < 0.25 and n_att > 0:
            self.pending_pod = (victim_char, system, attackers)
        return self.finish(i, esi, special)

    def pod_mail(self, i, kid):
        rng = self.rng
        ch, system, attackers = self.pending_pod
        self.pending_pod = None
        p, _ = self.pilot(ch)
        atts = [dict(a) for a in attackers[:rng.randint(1, min(5, len(attackers)))]]
        for a in atts:
            a.pop("final_blow", None)
        ship = 33328 if rng.random() < 0.2 else 670
        self.split_damage(atts, rng.randint(200, 600))
        victim = dict(p)
        victim["damage_taken"] = sum(a["damage_done"] for a in atts)
        victim["position"] = {ax: round(rng.uniform(-1e12, 1e12), 3)
                              for ax in ("x", "y", "z")}
        victim["ship_type_id"] = ship
        esi = {"attackers": atts, "killmail_id": kid,
               "killmail_time": fmt_time(self.t),
               "solar_system_id": system, "victim": victim}
        return self.finish(i, esi, "pod")

    def damage(self, ship):
        g = GROUP_OF[ship]
        base = {25: 2500, 29: 400, 420: 4000, 831: 2500, 1305: 9000,
                26: 9000, 358: 20000, 419: 30000, 963: 40000, 541: 8000,
                27: 90000, 898: 80000, 28: 6000, 485: 800000, 547: 900000,
                1538: 1200000, 659: 4000000, 30: 30000000}.get(g, 500000)
        return int(base * self.rng.uniform(0.6, 1.4))

    def split_damage(self, attackers, damage):
        rng = self.rng
        w = [rng.random() + 0.05 for _ in attackers]
        s = sum(w)
        left = damage
        for a, x in zip(attackers, w):
            d = int(damage * x / s)
            a["damage_done"] = d
            left -= d
        attackers[0]["damage_done"] += left
        attackers.sort(key=lambda a: -a["damage_done"])
        fb = 0 if rng.random() < 0.6 else rng.randrange(len(attackers))
        for k, a in enumerate(attackers):
            a["final_blow"] = (k == fb)
        # ESI key order inside an attacker is alphabetical
        for k, a in enumerate(attackers):
            attackers[k] = {key: a[key] for key in sorted(a)}

    def finish(self, i, esi, special):
        rng = self.rng
        kid = esi["killmail_id"]
        h = hashlib.sha1(("%d:%d" % (self.seed, kid)).encode()).hexdigest()
        victim = esi["victim"]
        victim = {k: victim[k] for k in sorted(victim)}
        esi["victim"] = victim
        esi = {k: esi[k] for k in sorted(esi)}
        line = dict(esi)
        line["killmail_hash"] = h
        if i % 10 == 9:
            return line
        atts = esi["attackers"]
        ship = victim["ship_type_id"]
        fitted, dropped, destroyed = self.values(ship, victim.get("items", []))
        if ship in (670, 33328) and rng.random() < 0.3:
            destroyed += rng.choice([5e7, 3e8, 1.2e9])     # implants
        total = float(round(dropped + destroyed, 2))
        players = [a for a in atts if "character_id" in a]
        npc = not players
        solo = len(atts) == 1 and not npc
        awox = any(a.get("corporation_id") == victim.get("corporation_id") or
                   (victim.get("alliance_id") and
                    a.get("alliance_id") == victim.get("alliance_id"))
                   for a in players)
        system = esi["solar_system_id"]
        sec = self.sys[system][3]
        cls = sec_class(system, sec)
        points = 1 if npc else max(1, int(round(
            (math.log10(total + 10) * 3) / math.sqrt(len(atts)))))
        zkb = {}
        if i % 20 != 19:
            gates = self.gates.get(system)
            if gates:
                zkb["locationID"] = rng.choice(gates)
            else:
                zkb["locationID"] = 40000000 + (system % 1000) * 100 + rng.randint(1, 30)
        zkb["hash"] = h
        zkb["fittedValue"] = fitted
        old = i % 20 == 11
        if not old:
            zkb["droppedValue"] = round(dropped, 2)
            zkb["destroyedValue"] = round(destroyed, 2)
        zkb["totalValue"] = total
        zkb["points"] = points
        zkb["npc"] = npc
        zkb["solo"] = solo
        zkb["awox"] = awox
        if not old:
            hour = int(esi["killmail_time"][11:13])
            labels = [tz_label(hour),
                      "cat:%d" % CATEGORY_OF_GROUP[GROUP_OF[ship]],
                      size_label(len(atts), solo)]
            labels.append("npc" if npc else "pvp")
            if awox:
                labels.append("awox")
            labels.append({"highsec": "loc:highsec", "lowsec": "loc:lowsec",
                           "nullsec": "loc:nullsec", "pochven": "loc:nullsec",
                           "wormhole": "loc:w-space",
                           "abyssal": "loc:abyssal"}[cls])
            il = isk_label(total)
            if il:
                labels.append(il)
            if GROUP_OF[ship] in CAPITAL_GROUPS:
                labels.append("capital")
            zkb["labels"] = labels
            zkb["attackerCount"] = len(atts)
            zkb["href"] = "https://esi.evetech.net/killmails/%d/%s/" % (kid, h)
        line["zkb"] = zkb
        return line


# ---------------------------------------------------------------- writers

def write_tsv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\t".join(header) + "\n")
        for r in rows:
            f.write("\t".join(x if isinstance(x, str) else repr(x) for x in r) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--mails", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--start-id", type=int, default=1000000)
    o = ap.parse_args()
    if o.mails < 0:
        ap.error("--mails must be >= 0")
    os.makedirs(o.out, exist_ok=True)
    regions = dict(REGIONS)
    const_region = {c[0]: c[2] for c in CONSTELLATIONS}

    write_tsv(os.path.join(o.out, "regions.tsv"), ["region_id", "name"], REGIONS)
    write_tsv(os.path.join(o.out, "constellations.tsv"),
              ["constellation_id", "name", "region_id"], CONSTELLATIONS)
    rows = []
    for sid, name, cons, sec, (gx, gy, gz) in SYSTEMS:
        b = WH_BASE if 31000000 <= sid < 32000000 else BASE
        pos = [b[0] + gx * LY, b[1] + gy * LY, b[2] + gz * LY]
        rows.append((sid, name, cons, const_region[cons], sec, *pos))
    write_tsv(os.path.join(o.out, "systems.tsv"),
              ["system_id", "name", "constellation_id", "region_id",
               "security_status", "x", "y", "z"], rows)
    jumps = sorted(set(GATES) | {(b, a) for a, b in GATES})
    write_tsv(os.path.join(o.out, "jumps.tsv"),
              ["from_system_id", "to_system_id"], jumps)
    write_tsv(os.path.join(o.out, "categories.tsv"), ["category_id", "name"],
              sorted(CATEGORIES))
    write_tsv(os.path.join(o.out, "groups.tsv"),
              ["group_id", "name", "category_id"], sorted(GROUPS))
    write_tsv(os.path.join(o.out, "types.tsv"), ["type_id", "name", "group_id"],
              sorted((t[0], t[1], t[2]) for t in TYPES))
    names, chars = build_owners()
    write_tsv(os.path.join(o.out, "names.tsv"), ["id", "category", "name"],
              [(k, v[0], v[1]) for k, v in sorted(names.items())])

    g = Gen(o.seed, o.start_id, names, chars)
    with open(os.path.join(o.out, "killmails.ndjson"), "w", encoding="utf-8",
              newline="\n") as f:
        for i in range(o.mails):
            f.write(json.dumps(g.mail(i), ensure_ascii=False,
                               separators=(",", ":")) + "\n")
    with open(os.path.join(o.out, "README"), "w", encoding="utf-8") as f:
        f.write("Synthetic fixtures written by tests/gen/fixtures.py "
                "--mails %d --seed %d --start-id %d.\n"
                "Formats: as the real data set (see tests/fake/README.md).\n"
                "Universe: %d regions, %d constellations, %d systems "
                "(fixed, independent of --seed).\n\n%s"
                % (o.mails, o.seed, o.start_id, len(regions),
                   len(CONSTELLATIONS), len(SYSTEMS), SPECIALS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
