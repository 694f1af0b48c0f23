"""Realistic Sinergi data at scale: the demo generator (`src/demo/`) ported to
Python and scaled up. Employers are the 37 fictional Kukar templates of the
demo, repeated with new names and numbers until the requested number of
foreign workers is reached; each employer gets the demo's sites, one RPTKA
approval, a workforce of the demo's size and nationality mix, assignments,
stay permits (sometimes the previous one too) and presence reports, plus a
few per cent of deliberate contradictions so the findings engine has work.

Standard library only. Deterministic for a given seed and anchor date.
"""

import datetime as dt
import json
import random
import uuid

# ---------------------------------------------------------------- agencies

IMI = "IMI-SMD"
KEMNAKER = "KEMNAKER"
DISNAKER = "DISNAKER-KUKAR"
KESBANGPOL = "KESBANGPOL-KUKAR"

# code, name, kind, jurisdiction
AGENCIES = [
    (IMI, "Kantor Imigrasi Kelas I TPI Samarinda", "immigration", "64"),
    (KEMNAKER, "Kementerian Ketenagakerjaan RI", "manpower", None),
    (DISNAKER, "Dinas Tenaga Kerja dan Transmigrasi Kabupaten Kutai Kartanegara", "manpower", "64.02"),
    (KESBANGPOL, "Badan Kesatuan Bangsa dan Politik Kabupaten Kutai Kartanegara", "regional", "64.02"),
]
IMI_OFFICE = AGENCIES[0][1]

# ---------------------------------------------------------------- geography

DISTRICTS = {
    "01": ("Muara Muntai", -0.37, 116.40), "02": ("Loa Kulu", -0.55, 116.93),
    "03": ("Loa Janan", -0.62, 117.08), "04": ("Anggana", -0.60, 117.30),
    "05": ("Muara Badak", -0.30, 117.35), "06": ("Tenggarong", -0.42, 116.99),
    "07": ("Sebulu", -0.25, 116.98), "08": ("Kota Bangun", -0.27, 116.58),
    "09": ("Kenohan", -0.45, 116.50), "10": ("Kembang Janggut", -0.05, 116.45),
    "11": ("Muara Kaman", -0.10, 116.75), "12": ("Tabang", 0.25, 116.05),
    "13": ("Samboja", -1.03, 117.08), "14": ("Muara Jawa", -0.82, 117.20),
    "15": ("Sanga Sanga", -0.66, 117.22), "16": ("Tenggarong Seberang", -0.35, 117.08),
    "17": ("Marang Kayu", -0.08, 117.42), "18": ("Muara Wis", -0.25, 116.38),
    "19": ("Kota Bangun Darat", -0.15, 116.62), "20": ("Samboja Barat", -0.95, 116.95),
}
NEIGHBOUR = {"02": "03", "03": "02", "07": "16", "11": "07", "14": "15", "15": "14", "16": "07", "20": "13"}
STREETS = ["Jl. Poros", "Jl. Negara", "Jl. Mulawarman", "Jl. Ahmad Yani", "Jl. Gunung Belah", "Jl. Pesut", "Jl. Imam Bonjol"]
QUARTERS = ["Utara", "Selatan", "Barat", "Timur", "Tengah", "Hulu", "Hilir"]
# Kukar villages and rivers, for the names of the scaled-up employers.
PLACES = [
    "Belayan", "Tabang", "Ritan", "Kaman", "Sabintulung", "Martadipura", "Dondang", "Rempanga",
    "Payang", "Sanga", "Separi", "Loa Duri", "Senoni", "Sebulu", "Argosari", "Etam", "Jembayan",
    "Loa Ipuh", "Bukit Biru", "Jahab", "Rapak Lambur", "Perangat", "Bunga Putih", "Santan",
    "Kelekat", "Tuana Tuha", "Semayang", "Melintang", "Liang", "Kedang Ipil", "Handil", "Muntai",
    "Sepatin", "Saliki", "Tanjung Limau", "Kutai Lama", "Mahakam", "Kedang Kepala", "Kedang Rantau",
    "Lebak Cilong", "Batuq", "Sungai Meriam", "Teluk Dalam", "Muara Kaman Ulu", "Embalut",
]
SUFFIXES = ["Nusantara", "Perkasa", "Makmur", "Abadi", "Utama", "Indonesia", "Pratama", "Sejahtera",
            "Lestari", "Jaya", "Mandiri", "Sentosa"]
WORDS = {
    "Coal": ["Bara", "Coal", "Coalindo", "Energi", "Mineral", "Mining", "Resources"],
    "MiningContractor": ["Minepro", "Haul", "Drilling", "Contractors", "Tambang"],
    "HeadOffice": ["Coal Holdings", "Mining Group", "Resources Group"],
    "Construction": ["Karya Konstruksi", "Konstruksi", "Bangun"],
    "OilGas": ["Petro", "Energi Servis", "Offshore", "Wellservices", "Petroteknik"],
    "Plantation": ["Agro", "Sawit", "Plantation"],
    "Mill": ["Palm Oil Mill", "Sawit Mill"],
    "PlantationMill": ["Sawit Lestari", "Agro Industri"],
    "Port": ["Terminal", "Pelabuhan", "Logistik"],
}

# The demo's 37 employers: name, kecamatan suffix, profile, capital, origin, KBLI.
COAL, COAL_SVC, MINING_SVC, OIL_GAS = ["05100"], ["05100", "09900"], ["09900"], ["09100"]
TEMPLATES = [
    ("PT Belayan Bara Nusantara", "12", "Coal", "PMA", "CHN", COAL),
    ("PT Tabang Hulu Coalindo", "12", "Coal", "PMDN", None, COAL_SVC),
    ("PT Ritan Mineral Perkasa", "12", "Coal", "PMA", "KOR", COAL),
    ("PT Kaman Sino Resources", "11", "Coal", "PMA", "CHN", COAL),
    ("PT Sabintulung Bara Makmur", "11", "Coal", "PMDN", None, COAL),
    ("PT Martadipura Coal Mining", "11", "Coal", "PMA", "IND", COAL),
    ("PT Muara Jawa Hengsheng Mining", "14", "Coal", "PMA", "CHN", COAL),
    ("PT Dondang Energi Pratama", "14", "Coal", "PMDN", None, COAL),
    ("PT Borneo Haul Contractors Indonesia", "14", "MiningContractor", "PMA", "AUS", MINING_SVC),
    ("PT Rempanga Coal Indonesia", "02", "Coal", "PMA", "CHN", COAL),
    ("PT Kartanegara Hikari Mining", "02", "Coal", "PMA", "JPN", COAL),
    ("PT Payang Sumber Energi", "02", "Coal", "PMDN", None, COAL),
    ("PT Xinda Sanga Coal", "15", "Coal", "PMA", "CHN", COAL),
    ("PT Pendingin Bara Abadi", "15", "Coal", "PMDN", None, COAL_SVC),
    ("PT Tanjung Batu Jinhai Mining", "16", "Coal", "PMA", "CHN", COAL),
    ("PT Separi Bara Utama", "16", "Coal", "PMDN", None, COAL),
    ("PT Mahakam Minepro Services", "16", "MiningContractor", "PMA", "CHN", MINING_SVC),
    ("PT Loa Duri Coal Resources", "03", "Coal", "PMA", "CHN", COAL),
    ("PT Tani Bhakti Daeyang Energi", "03", "Coal", "PMA", "KOR", COAL),
    ("PT Senoni Bara Indah", "07", "Coal", "PMA", "CHN", COAL),
    ("PT Sebulu Wanli Mining", "07", "Coal", "PMA", "CHN", COAL),
    ("PT Bunga Putih Drilling Services", "17", "MiningContractor", "PMA", "IND", MINING_SVC),
    ("PT Argosari Coal Indonesia", "20", "Coal", "PMA", "CHN", COAL),
    ("PT Etam Coal Holdings Indonesia", "06", "HeadOffice", "PMA", "CHN", COAL),
    ("PT Kartanegara Mining Contractors", "06", "HeadOffice", "PMA", "AUS", MINING_SVC),
    ("PT Mulawarman Karya Konstruksi", "06", "Construction", "PMA", "CHN", ["42919"]),
    ("PT Saliki Petro Services", "05", "OilGas", "PMA", "AUS", OIL_GAS),
    ("PT Tanjung Limau Energi Servis", "05", "OilGas", "PMA", "CHN", OIL_GAS),
    ("PT Sepatin Offshore Support", "04", "OilGas", "PMA", "MYS", OIL_GAS),
    ("PT Kutai Lama Petroteknik", "04", "OilGas", "PMDN", None, OIL_GAS),
    ("PT Handil Wellservices Indonesia", "13", "OilGas", "PMA", "IND", OIL_GAS),
    ("PT Muntai Mahakam Terminal", "01", "Port", "PMDN", None, ["52221"]),
    ("PT Belayan Sawit Lestari", "10", "PlantationMill", "PMA", "MYS", ["01262", "10431"]),
    ("PT Semayang Agro Plantation", "09", "Plantation", "PMA", "MYS", ["01262"]),
    ("PT Melintang Palm Oil Mill", "18", "Mill", "PMA", "MYS", ["10431"]),
    ("PT Liang Agro Sejahtera", "08", "Plantation", "PMA", "MYS", ["01262"]),
    ("PT Kedang Ipil Sawit Makmur", "19", "Plantation", "PMDN", None, ["01262", "10431"]),
]

TITLES = {
    "Coal": [("Mining Engineer", "professional"), ("Geologist", "professional"),
             ("Mine Planning Engineer", "professional"), ("Heavy Equipment Mechanic Supervisor", "professional"),
             ("Geotechnical Engineer", "professional"), ("Mining Operations Manager", "manager"),
             ("Plant Manager", "manager"), ("Finance Manager", "manager"), ("Technical Advisor", "advisor")],
    "MiningContractor": [("Heavy Equipment Mechanic Supervisor", "professional"),
                         ("Drill and Blast Engineer", "professional"), ("Fleet Planning Engineer", "professional"),
                         ("Maintenance Superintendent", "manager"), ("Project Manager", "manager"),
                         ("Technical Advisor", "advisor")],
    "HeadOffice": [("Finance Manager", "manager"), ("Mining Engineer", "professional"),
                   ("Legal Advisor", "advisor"), ("Technical Advisor", "advisor")],
    "Construction": [("Project Manager", "manager"), ("Civil Engineer", "professional"),
                     ("Quantity Surveyor", "professional")],
    "OilGas": [("Drilling Supervisor", "professional"), ("Well Services Engineer", "professional"),
               ("Instrumentation Engineer", "professional"), ("Project Manager", "manager"),
               ("Production Technical Advisor", "advisor")],
    "Plantation": [("Estate Manager", "manager"), ("Agronomist", "professional")],
    "Mill": [("Plant Manager", "manager"), ("Process Engineer", "professional"), ("Boiler Engineer", "professional")],
    "PlantationMill": [("Estate Manager", "manager"), ("Agronomist", "professional"),
                       ("Plant Manager", "manager"), ("Process Engineer", "professional")],
    "Port": [("Port Operations Manager", "manager"), ("Marine Superintendent", "professional")],
}
STAFF = {"Coal": (6, 12), "MiningContractor": (6, 10), "HeadOffice": (3, 5), "Construction": (4, 6),
         "OilGas": (4, 8), "Plantation": (2, 3), "Port": (2, 3), "Mill": (2, 3), "PlantationMill": (3, 5)}
SITE_PLAN = {
    "Coal": [("mine", "Pit {d} {q}"), ("camp", "Camp Karyawan {d}")],
    "MiningContractor": [("mine", "Proyek Tambang {d} {q}"), ("other", "Workshop Alat Berat {d}"), ("camp", "Mess {d}")],
    "HeadOffice": [("office", "Kantor Pusat {d}")],
    "Construction": [("office", "Kantor Proyek {d}"), ("other", "Proyek Jalan Tambang {q}")],
    "OilGas": [("port", "Supply Base {d}"), ("other", "Field Support Base {d} {q}")],
    "Plantation": [("plantation", "Kebun Sawit {d} {q}"), ("office", "Kantor Kebun {d}")],
    "Mill": [("mill", "PKS {d}")],
    "PlantationMill": [("plantation", "Kebun Sawit {d} {q}"), ("mill", "PKS {d}")],
    "Port": [("port", "Terminal Batubara {d}"), ("office", "Kantor Terminal {d}")],
}
ACTIVITY = {
    "mine": ["supervising overburden removal", "inspecting the haul road", "checking pit dewatering pumps",
             "supervising blasting preparation", "surveying the pit wall"],
    "mill": ["supervising the boiler station", "checking the press line"],
    "plantation": ["inspecting harvest blocks", "checking fertiliser application"],
    "office": ["office work", "coordination meeting"],
    "port": ["supervising barge loading", "inspecting the conveyor"],
}
OTHER_ACTIVITY = ["supervising field work", "maintaining heavy equipment"]

# ---------------------------------------------------------------- people

NAT_SHARES = [("CHN", 57), ("KOR", 10), ("JPN", 8), ("IND", 7), ("MYS", 6), ("AUS", 4), ("PHL", 3), ("THA", 3), ("LKA", 2)]
# surnames, male given names, female given names, given name first
BOOKS = {
    "CHN": (["WANG", "LI", "ZHANG", "LIU", "CHEN", "YANG", "HUANG", "ZHAO", "WU", "ZHOU", "XU", "SUN", "MA", "ZHU",
             "HU", "GUO", "HE", "LIN", "LUO", "GAO", "ZHENG", "LIANG", "XIE", "TANG", "HAN", "CAO", "DENG", "FENG",
             "PENG", "JIANG"],
            ["WEI", "JUN", "QIANG", "LEI", "YONG", "JIANHUA", "JIANGUO", "HAIBO", "ZHIQIANG", "XIAODONG", "MING", "TAO",
             "BIN", "PENG", "HAO", "CHAO", "GANG", "LIANG", "JIE", "FENG", "ZHIWEI", "WENBO", "GUOQING", "XIN", "YU",
             "HONGWEI", "JIANJUN", "DAWEI"],
            ["FANG", "NA", "XIUYING", "JING", "YAN", "LING", "HUI", "XIA", "YING", "LI"], False),
    "KOR": (["KIM", "LEE", "PARK", "CHOI", "JUNG", "KANG", "CHO", "YOON", "JANG", "LIM", "HAN", "OH", "SEO", "SHIN", "KWON"],
            ["MIN JUN", "SEO JUN", "JI HOON", "HYUN WOO", "SUNG MIN", "DONG HYUN", "JAE WON", "YOUNG HO", "SANG WOO",
             "JIN HO", "TAE HYUN", "KYUNG SOO"], ["JI YOUNG", "SOO JIN", "HYE JIN", "MIN JI"], False),
    "JPN": (["SATO", "SUZUKI", "TAKAHASHI", "TANAKA", "WATANABE", "ITO", "YAMAMOTO", "NAKAMURA", "KOBAYASHI", "KATO",
             "YOSHIDA", "YAMADA", "SASAKI", "MATSUMOTO", "INOUE", "KIMURA"],
            ["HIROSHI", "TAKESHI", "KENJI", "DAISUKE", "YUSUKE", "KAZUKI", "SHOTA", "TAKUYA", "KOJI", "NAOKI",
             "MASAHIRO", "TETSUYA"], ["YUKI", "AYAKA", "MISAKI", "EMI"], False),
    "IND": (["KUMAR", "SHARMA", "SINGH", "PATEL", "REDDY", "NAIR", "IYER", "GUPTA", "RAO", "VERMA", "MENON", "PILLAI"],
            ["RAJESH", "SURESH", "ANIL", "SANJAY", "VIKRAM", "ARUN", "RAMESH", "PRAKASH", "DEEPAK", "MANOJ", "RAHUL",
             "VENKATESH"], ["PRIYA", "ANJALI", "SUNITA", "DEEPA"], True),
    "AUS": (["SMITH", "JONES", "WILLIAMS", "BROWN", "WILSON", "TAYLOR", "ANDERSON", "THOMPSON", "MITCHELL", "CAMPBELL",
             "O'BRIEN", "MCDONALD"],
            ["JAMES", "MICHAEL ANDREW", "DAVID", "MATTHEW JOHN", "PETER", "SCOTT", "BENJAMIN", "DANIEL", "CRAIG", "LUKE"],
            ["SARAH", "JESSICA", "REBECCA"], False),
    "PHL": (["SANTOS", "REYES", "CRUZ", "BAUTISTA", "GARCIA", "MENDOZA", "DELA CRUZ", "VILLANUEVA", "RAMOS", "AQUINO"],
            ["JOSE", "MARK ANTHONY", "JOHN PAUL", "RONALDO", "ROMMEL", "JERRY", "ARNEL", "RODEL"],
            ["MARIA CRISTINA", "JOCELYN", "MARICEL"], False),
    "THA": (["SRISUK", "WONGSAWAT", "CHAIYAPORN", "SUKSAWAT", "KAEWMANEE", "PHROMMA", "BOONMA", "THONGDEE"],
            ["SOMCHAI", "PRASERT", "ANUCHA", "WICHAI", "SOMPONG", "THANAKORN", "KITTIPONG"], ["SUDA", "NIPA", "KANYA"], False),
    "LKA": (["PERERA", "FERNANDO", "SILVA", "JAYAWARDENA", "BANDARA", "WICKRAMASINGHE", "DISSANAYAKE", "RATNAYAKE"],
            ["KASUN", "NUWAN", "CHAMINDA", "PRASAD", "RUWAN", "SAMAN", "THARINDU"], ["DILANI", "NADEESHA"], False),
    "MYS": (["TAN", "LIM", "WONG", "ONG", "LEE", "CHONG", "NG", "TEO"],
            ["CHEE KEONG", "WEI MING", "KOK LEONG", "BOON HUAT", "CHIN HOCK", "KAH WAI"], ["MEI LING", "SIEW LAN"], False),
}
MYS_MALAY_MALE = ["MOHD FAIZAL", "AHMAD ZAKI", "MUHAMMAD HAFIZ", "MOHD RIDZUAN", "AZMAN", "KHAIRUL ANUAR", "SYAFIQ", "MOHD NAZRI"]
MYS_MALAY_FEMALE = ["NURUL AIN", "SITI AISYAH", "NUR FARHANA"]
MYS_FATHERS = ["AHMAD", "ISMAIL", "ABDULLAH", "OTHMAN", "HASSAN", "YUSOF", "IBRAHIM", "RAHMAN"]
ID_MALE = ["Budi", "Agus", "Andi", "Rizky", "Dedi", "Hendra", "Fajar", "Ahmad", "Muhammad", "Yusuf", "Arif", "Eko",
           "Bayu", "Rahmat", "Syahrul", "Irfan", "Aditya", "Wahyu", "Rudi", "Joko", "Akhmad", "Heri", "Taufik", "Gusti"]
ID_FEMALE = ["Siti", "Dewi", "Nur", "Rina", "Sri", "Fitri", "Ayu", "Wulan", "Lestari", "Rahmawati"]
ID_FAMILY = ["Santoso", "Pratama", "Saputra", "Hidayat", "Kurniawan", "Setiawan", "Nugroho", "Wijaya", "Rahman",
             "Hakim", "Syahputra", "Ramadhan", "Firmansyah", "Maulana", "Hasanuddin", "Gunawan", "Siregar", "Lubis",
             "Aminuddin", "Noor", "Anshari", "Kadir", "Daeng Mapata", "Effendi"]
UPPER = "ABCDEFGHIJKLMNPRSTUVWXYZ"


def anchor_date(today=None):
    """Monday of the current week (as the demo does), so data stays current."""
    today = today or dt.date.today()
    return today - dt.timedelta(days=today.weekday())


class Rng(random.Random):
    def range(self, lo, hi):
        return self.randint(lo, hi)

    def chance(self, percent):
        return self.random() * 100 < percent

    def digits(self, n):
        return "".join(self.choice("0123456789") for _ in range(n))


def person_name(nat, female, rng):
    if nat == "MYS" and rng.chance(55):
        given = rng.choice(MYS_MALAY_FEMALE if female else MYS_MALAY_MALE)
        return f"{given} {'BINTI' if female else 'BIN'} {rng.choice(MYS_FATHERS)}"
    surnames, male, fem, given_first = BOOKS[nat]
    surname, given = rng.choice(surnames), rng.choice(fem if female else male)
    return f"{given} {surname}" if given_first else f"{surname} {given}"


def passport_no(nat, rng):
    if nat == "CHN":
        return f"E{rng.range(1, 9)}{rng.digits(7)}"
    if nat == "KOR":
        return f"M{rng.range(1, 9)}{rng.digits(7)}"
    if nat == "JPN":
        return f"{rng.choice(['TK', 'TR', 'TS', 'TZ', 'MZ'])}{rng.digits(7)}"
    if nat == "IND":
        return f"{rng.choice('JKLMNPRSTUVWZ')}{rng.digits(7)}"
    if nat == "MYS":
        return f"{rng.choice('AAAH')}{rng.digits(8)}"
    if nat == "AUS":
        return f"P{rng.choice('ABCDE')}{rng.digits(7)}"
    if nat == "PHL":
        return f"P{rng.digits(7)}{rng.choice(UPPER)}"
    if nat == "THA":
        return f"A{rng.choice('ABCDEFGH')}{rng.digits(7)}"
    return f"N{rng.digits(7)}"


def permit_no(kind, rng):
    head = {"ITAP": "2D2", "ITK": "1D1"}.get(kind, "2C2")
    u = "ABCDEFGHJKLMNPRSTUVWXYZ"
    return f"{head}{rng.range(1, 3)}{rng.choice(u)}{rng.choice(u)}{rng.digits(7)}"


def bias(nat, profile, origin):
    w = 8 if origin == nat else 1
    if profile in ("Plantation", "Mill", "PlantationMill"):
        w *= {"MYS": 6, "IND": 3}.get(nat, 1)
    elif profile == "OilGas" and nat in ("AUS", "IND", "PHL", "LKA"):
        w *= 3
    elif profile == "MiningContractor" and nat in ("AUS", "PHL"):
        w *= 2
    return w


def iso(d):
    return d.isoformat()


class Data:
    """Everything to push, as API bodies, plus counts."""

    def __init__(self):
        self.employers = []     # (nib, body)
        self.sites = []         # body
        self.approvals = []     # (approval_no, body)
        self.workers = []       # person dicts (PersonInput)
        self.assignments = []   # (agency, body)
        self.permits = []       # (permit_no, body)
        self.presence = []      # (agency, body)

    def counts(self):
        return {
            "employers": len(self.employers), "work_sites": len(self.sites),
            "rptka_approvals": len(self.approvals), "workers": len(self.workers),
            "assignments": len(self.assignments), "residence_permits": len(self.permits),
            "presence_reports": len(self.presence),
        }


def generate(n_workers, seed=20261130, anchor=None):
    a = anchor or anchor_date()
    day = lambda n: a + dt.timedelta(days=n)  # noqa: E731
    rng = Rng(seed)
    d = Data()
    used = set()

    def unique(make):
        while True:
            v = make()
            if v not in used:
                used.add(v)
                return v

    nat_names = [n for n, _ in NAT_SHARES]
    counters = {"dkk": 0, "kemnaker": 0, "nik": 0, "pora": 0, "apoa": 0}
    e = 0
    while len(d.workers) < n_workers:
        tname, suffix, profile, capital, origin, kbli = TEMPLATES[e % len(TEMPLATES)]
        copy = e // len(TEMPLATES)
        if copy == 0:
            name = tname
        else:
            name = f"PT {rng.choice(PLACES)} {rng.choice(WORDS[profile])} {rng.choice(SUFFIXES)}"
        nib = unique(lambda: f"9120{rng.range(1, 9)}{rng.digits(8)}")
        region = f"64.02.{suffix}"
        district = DISTRICTS[suffix][0]
        street = rng.choice(STREETS)
        street = (f"Jl. Poros {district} Km {rng.range(2, 40)}" if street == "Jl. Poros"
                  else f"{street} No. {rng.range(1, 120)}")
        d.employers.append((nib, {
            "npwp": f"0{rng.range(1, 3)}{rng.digits(7)}725000",
            "name": name, "capital": capital, "kbli": list(kbli),
            "address": f"{street}, Kec. {district}, Kab. Kutai Kartanegara, Kalimantan Timur",
            "region_code": region, "source_ref": f"DKK-PRS-{e + 1:05d}",
        }))
        # Sites.
        plan = list(SITE_PLAN[profile])
        if profile == "Coal":
            if rng.chance(50):
                plan.append(("mine", "Pit {d} {q}"))
            if rng.chance(30):
                plan.append(("port", "Jetty Batubara {d}"))
        quarters = QUARTERS[:]
        rng.shuffle(quarters)
        sites = []  # (source_ref, kind, region)
        for n, (kind, pattern) in enumerate(plan):
            sfx = suffix
            if kind == "mine" and n > 1 and suffix in NEIGHBOUR and rng.chance(40):
                sfx = NEIGHBOUR[suffix]
            sregion = f"64.02.{sfx}"
            dname, lat, lon = DISTRICTS[sfx]
            sref = f"DKK-LOK-{e + 1:05d}-{n + 1}"
            d.sites.append({
                "source_ref": sref, "employer_nib": nib,
                "name": pattern.replace("{d}", dname).replace("{q}", quarters[n % len(quarters)]),
                "kind": kind, "region_code": sregion,
                "lat": round(lat + (rng.randrange(801) - 400) / 10000, 4),
                "lon": round(lon + (rng.randrange(801) - 400) / 10000, 4),
            })
            sites.append((sref, kind, sregion))
        home = [s for s in sites if s[1] != "camp"]
        # Workforce size and nationalities.
        lo, hi = STAFF[profile]
        size = min(rng.range(lo, hi), n_workers - len(d.workers))
        weights = [share * bias(nat, profile, origin) for nat, share in NAT_SHARES]
        nats = rng.choices(nat_names, weights=weights, k=size)
        # The approval.
        if profile == "OilGas" and rng.chance(40):
            atype = "temporary"
        elif rng.chance(45):
            atype = "extension"
        else:
            atype = "new"
        if atype == "temporary":
            vf, vu = day(-rng.range(30, 120)), day(rng.range(150, 240))
        else:
            vf, vu = day(-rng.range(60, 540)), day(rng.range(150, 600))
        if profile == "HeadOffice" or rng.chance(60):
            scope = ["64.02"]
        else:
            scope = sorted({s[2] for s in sites})
        n = len(nats)
        first_origin = next((i for i, x in enumerate(nats) if x == origin), 0)
        roles = [None] * n
        board = 0
        if capital == "PMA" and n:
            roles[first_origin] = ("President Director", "director") if n >= 8 else ("Director", "director")
            board = 1
            if n >= 9 and rng.chance(50):
                c = next(i for i in range(n) if i != first_origin)
                roles[c] = ("Commissioner", "commissioner")
                board = 2
        pool = TITLES[profile][:]
        rng.shuffle(pool)
        pool = pool[:1 + (n - board) // 3]
        roles = [r or rng.choice(pool) for r in roles]
        positions = []
        for title, level in roles:
            if not any(p["title"] == title for p in positions):
                positions.append({"code": f"P{len(positions) + 1:02d}", "title": title, "level": level, "headcount": 0})
        approval_no = f"KEP.{10000 + e}/PPTKA/PTA"
        by = KEMNAKER if profile == "HeadOffice" or rng.chance(30) else DISNAKER
        for k, nat in enumerate(nats):
            title, level = roles[k]
            on_board = level in ("director", "commissioner")
            pos = next(p for p in positions if p["title"] == title)
            pos["headcount"] += 1
            female = not on_board and rng.chance(8)
            if on_board:
                birth = dt.date(1965, 1, 1) + dt.timedelta(days=rng.randrange(15 * 365))
            else:
                birth = dt.date(1968, 1, 1) + dt.timedelta(days=rng.randrange(33 * 365))
            passport = unique(lambda: passport_no(nat, rng))
            site = rng.choice(home)
            served = (a - vf).days
            ended = not on_board and served >= 150 and rng.chance(5)
            if ended:
                end = day(-rng.range(30, min(served - 120, 200)))
                start, status = max(vf, end - dt.timedelta(days=rng.range(180, 540))), "ended"
            else:
                start = max(vf, day(-rng.range(20, 700)))
                end, status = min(vu, day(rng.range(90, 540))), "active"
            # Stay permits (the current one, sometimes the one before).
            itap = on_board and rng.chance(35)
            kind = "ITAP" if itap else "ITAS"
            visa = None if itap else ("C312" if rng.chance(10) else "E23")
            if itap:
                pvu = day(rng.range(400, 1500))
                pvf = pvu - dt.timedelta(days=1825)
            else:
                twelve = rng.chance(70)
                if ended:
                    pvu = end + dt.timedelta(days=rng.range(0, 60))
                else:
                    pvu = min(end, day(rng.range(60, 330 if twelve else 170)))
                pvf = pvu - dt.timedelta(days=364 if twelve else 179)
            sponsor = nib
            # Deliberate contradictions (a few per cent), so findings fire.
            anomaly = rng.random()
            no_assignment = anomaly < 0.02                      # rule 1: permit, no assignment
            lent = 0.02 <= anomaly < 0.03 and len(d.employers) > 1  # rule 9: other sponsor
            visit = 0.03 <= anomaly < 0.04 and not on_board     # rule 3: ITK at a work site
            short_passport = 0.04 <= anomaly < 0.05            # rule 10: passport expires first
            if lent:
                sponsor = d.employers[rng.randrange(len(d.employers) - 1)][0]
            if visit:
                kind, visa, pvf, pvu = "ITK", "C1", day(-rng.range(5, 40)), day(rng.range(20, 50))
            permits = []
            if kind == "ITAS" and not ended and rng.chance(25):
                before = pvf - dt.timedelta(days=1)
                permits.append((before - dt.timedelta(days=364), before))
            permits.append((pvf, pvu))
            if not ended:
                start = min(start, max(pvf, vf))
            expires = max(pvu, end) + dt.timedelta(days=rng.range(200, 2900))
            if short_passport:
                expires = pvu - dt.timedelta(days=rng.range(10, 60))
                if expires <= birth:
                    expires = pvu
            person = {
                "passport_no": passport, "nationality": nat, "full_name": person_name(nat, female, rng),
                "sex": "F" if female else "M", "birth_date": iso(birth), "passport_expires_on": iso(expires),
            }
            d.workers.append(person)
            for (f, u) in permits:
                pno = unique(lambda: permit_no(kind, rng))
                d.permits.append((pno, {
                    "worker": person, "kind": kind, "visa_index": visa,
                    "sponsor_nib": None if kind == "ITK" else sponsor,
                    "issued_on": iso(f - dt.timedelta(days=rng.range(0, 10))),
                    "valid_from": iso(f), "valid_until": iso(u), "issuing_office": IMI_OFFICE,
                    "address_region_code": site[2], "status": "exited" if ended else "active",
                }))
            if not no_assignment:
                if by == KEMNAKER:
                    counters["kemnaker"] += 1
                    sref = f"TKA-KEMNAKER-{104000 + counters['kemnaker']:07d}"
                else:
                    counters["dkk"] += 1
                    sref = f"DKK-TKA-{counters['dkk']:07d}"
                companion = None
                if not on_board:
                    counters["nik"] += 1
                    cf = rng.chance(20)
                    cname = f"{rng.choice(ID_FEMALE if cf else ID_MALE)} {rng.choice(ID_FAMILY)}"
                    dd = rng.range(1, 28) + (40 if cf else 0)
                    nik = f"{site[2].replace('.', '')}{dd:02d}{rng.range(1, 12):02d}{rng.range(75, 102) % 100:02d}{counters['nik'] % 10000:04d}"
                    companion = {"nik": nik, "name": cname}
                legacy = None
                if on_board and atype == "extension" and rng.chance(40):
                    legacy = f"KEP.{rng.range(10000, 99999)}/NOTIF/PPTKA"
                d.assignments.append((by, {
                    "source_ref": sref, "worker": person, "approval_no": approval_no,
                    "position_code": pos["code"], "employer_nib": nib, "start_on": iso(start),
                    "end_on": iso(end), "status": status, "companion": companion,
                    "legacy_notifikasi_no": legacy,
                }))
            # Presence: named field checks and APOA lodging reports while permitted.
            active_now = not ended and pvf <= a <= pvu
            if active_now or visit:
                earliest = max(start, pvf, day(-90))
                span = max((a - earliest).days, 1)
                for agency, pct, source in ((KESBANGPOL, 40, "field_check"), (IMI, 8, "apoa")):
                    if not (rng.chance(pct) or (visit and agency == KESBANGPOL)):
                        continue
                    counters["pora" if agency == KESBANGPOL else "apoa"] += 1
                    on = day(-rng.range(1, span))
                    if agency == KESBANGPOL:
                        body = {
                            "source_ref": f"PORA-KK-{counters['pora']:07d}", "observed_on": iso(on),
                            "source": source, "region_code": site[2], "work_site_ref": site[0],
                            "employer_nib": nib, "worker": person, "headcount": None,
                            "activity": rng.choice(ACTIVITY.get(site[1], OTHER_ACTIVITY)),
                            "notes": "Pemeriksaan lapangan Tim PORA Kukar",
                        }
                    else:
                        body = {
                            "source_ref": f"APOA-SMD-{counters['apoa']:07d}", "observed_on": iso(on),
                            "source": source, "region_code": site[2], "work_site_ref": None,
                            "employer_nib": None, "worker": person, "headcount": None, "activity": None,
                            "notes": "Laporan orang asing dari penyedia akomodasi (APOA)",
                        }
                    d.presence.append((agency, body))
        for p in positions:
            if p["level"] not in ("director", "commissioner"):
                p["headcount"] += rng.range(0, 2)
        d.approvals.append((approval_no, {
            "employer_nib": nib, "type": atype,
            "issued_on": iso(vf - dt.timedelta(days=rng.range(3, 21))),
            "valid_from": iso(vf), "valid_until": iso(vu), "location_scope": scope,
            "positions": positions, "status": "active",
        }))
        # Unnamed headcount at one site, now and then.
        if rng.chance(50) and home:
            s = rng.choice(home)
            counters["pora"] += 1
            d.presence.append((KESBANGPOL, {
                "source_ref": f"PORA-KK-{counters['pora']:07d}", "observed_on": iso(day(-rng.range(3, 60))),
                "source": "employer_report" if rng.chance(40) else "field_check", "region_code": s[2],
                "work_site_ref": s[0], "employer_nib": nib, "worker": None, "headcount": max(1, size),
                "activity": rng.choice(ACTIVITY.get(s[1], OTHER_ACTIVITY)),
                "notes": "Pemeriksaan lapangan Tim PORA Kukar",
            }))
        e += 1
    return d


# ---------------------------------------------------------------- stored form

def permit_doc(permit_no_, body):
    """The document Sinergi stores for a permit (`ResidencePermitDoc`, serde
    field order, compact JSON), so the raw ceiling writes the same bytes."""
    w = body["worker"]
    doc = {
        "permit_no": permit_no_,
        "worker": {
            "passport_no": w["passport_no"], "nationality": w["nationality"], "full_name": w["full_name"],
            "sex": w["sex"], "birth_date": w["birth_date"], "passport_expires_on": w["passport_expires_on"],
        },
        "kind": body["kind"], "visa_index": body["visa_index"], "sponsor_nib": body["sponsor_nib"],
        "issued_on": body["issued_on"], "valid_from": body["valid_from"], "valid_until": body["valid_until"],
        "issuing_office": body["issuing_office"], "address_region_code": body["address_region_code"],
        "status": body["status"],
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def permit_rows(data, client_id, now):
    """The `records` rows Sinergi stores for the permits (worker ids are
    random UUIDs of the same size: the raw ceiling has no worker table)."""
    rng = random.Random(7)
    worker_ids = {}
    out = []
    for pno, body in data.permits:
        w = body["worker"]
        wid = worker_ids.setdefault(w["passport_no"], str(uuid.UUID(int=rng.getrandbits(128), version=4)))
        out.append((
            "residence_permit", pno, IMI, client_id, None, wid, body["sponsor_nib"],
            body["address_region_code"], body["status"], body["kind"], w["nationality"], None,
            body["valid_from"], body["valid_until"], permit_doc(pno, body), 1, now, now,
        ))
    return out


RECORD_COLUMNS = ("record_type", "record_key", "agency_code", "client_id", "source_ref", "worker_id",
                  "employer_nib", "region_code", "status", "kind", "nationality", "ref_key", "valid_from",
                  "valid_until", "doc", "version", "created_at", "updated_at")
