"""Deterministic, realistic data for the Coperniq sandbox: a US solar / storage / HVAC installer.

Everything comes from ``random.Random(seed)`` and a fixed anchor date, so one seed always gives
the same company, byte for byte, whatever the day. The data is shaped like a real CRM's, because
the mapping to QuickBooks is tested on it:

- addresses typed the ways people type them: units, suites, ``#``, ``Apt``, ZIP+4, spelled-out
  states, missing commas, all lower case, street only, stray spaces, a line break;
- contacts with several emails and phones or none, phones in mixed formats and with extensions,
  couples as one contact, non-ASCII names (José Núñez, Zoë O'Brien, Nguyễn Văn An);
- repeat customers (one account, several projects), projects that share a title
  ("Smith Residence"), a few untitled projects that show their account's title;
- Workflows 1.0 projects (``stage``) and Workflows 2.0 projects (``phase``), archived projects,
  custom properties on some projects;
- about one invoice per project (some none, some two or three) on a solar/HVAC catalog, amounts
  computed from the lines, all statuses, due dates; a few lines on archived catalog items.

Timestamps spread over the five years before the anchor, ``updatedAt >= createdAt``, independent
of id order (records were imported from another tool, so ids say nothing about age).
"""

from __future__ import annotations

import random
import unicodedata
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sandboxes.coperniq.models import (
    Account,
    CatalogItemRecord,
    ContactRecord,
    CoperniqBackend,
    InvoiceRecord,
    LineItem,
    PhaseInstance,
    PhaseTemplate,
    ProjectRecord,
    Stage,
    User,
    Workflow,
    money,
    truncate_ms,
)

SEED_ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)  # "now" of the seeded history (fixed: determinism)
HISTORY = timedelta(days=5 * 365)

# -- people ----------------------------------------------------------------------------------------

FIRST_NAMES = [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Chris", "Karen",
    "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty", "Mark", "Sandra", "Steven", "Ashley",
    "Andrew", "Emily", "Kevin", "Michelle", "Brian", "Amanda", "Jason", "Melissa", "Ryan", "Stephanie",
    "José", "María", "Zoë", "François", "Renée", "Chloé", "Søren", "Björn", "Siobhán", "Łukasz",
    "Ana", "Luis", "Priya", "Wei", "Mohammed", "Fatima", "Aaliyah", "Dmitri", "Hana", "Kwame",
    "Ngozi", "Mateo", "Camila", "Javier", "Lucía", "Noémie", "André", "Inés", "Seán", "Bea",
]
LAST_NAMES = [
    # weights below make the common names common, so titles like "Smith Residence" repeat
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Hill", "Flores", "Green",
    "Núñez", "O'Brien", "Nguyễn", "Müller", "Østergaard", "D'Angelo", "McAllister", "Van der Berg",
    "García-López", "St. Pierre", "Kowalczyk", "Çelik", "Đặng", "Le", "Tran", "Patel", "Shah", "Kim",
    "Park", "Chen", "Wang", "Okafor", "Haddad", "Cohen", "Schmidt", "Rossi", "Dubois", "Sørensen",
]
LAST_WEIGHTS = [12, 9, 8, 8, 7, 7, 6, 6, 5, 5] + [3] * 30 + [1] * (len(LAST_NAMES) - 40)
SUFFIXES = ["Jr.", "Sr.", "III", "II"]
BUSINESSES = [
    "Hill Country Dental, PLLC", "Oak & Ember Bakery", "Sunrise Senior Living", "St. Mary's Parish",
    "Café Olé LLC", "Bluebonnet Apartments HOA", "Greenfield Self Storage", "Lone Star Vet Clinic",
    "Desert Bloom Winery", "Pioneer Auto Body", "Harbor View Marina", "Mesa Verde Charter School",
    "Blue Ridge Brewing Co.", "Lakeside Community Church", "Summit Physical Therapy", "Casa Bonita Restaurant",
    "Rocky Mountain Storage Partners", "Atlantic Cold Storage, Inc.", "Golden Gate Yoga", "Peachtree Pediatrics",
]
CONTACT_TITLES = ["Homeowner", "Owner", "Property Manager", "Office Manager", "Facilities Director", "CFO", None]
EMAIL_DOMAINS = ["gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com",
                 "aol.com", "comcast.net", "att.net", "sbcglobal.net", "me.com"]

# -- places ----------------------------------------------------------------------------------------

# (city, state, state name, zip, area codes)
CITIES = [
    ("Austin", "TX", "Texas", "78704", ["512", "737"]), ("Round Rock", "TX", "Texas", "78664", ["512"]),
    ("Cedar Park", "TX", "Texas", "78613", ["512", "737"]), ("San Antonio", "TX", "Texas", "78209", ["210"]),
    ("Houston", "TX", "Texas", "77008", ["713", "832"]), ("Plano", "TX", "Texas", "75024", ["972", "469"]),
    ("San Jose", "CA", "California", "95125", ["408"]), ("Oakland", "CA", "California", "94610", ["510"]),
    ("San Diego", "CA", "California", "92104", ["619", "858"]), ("Sacramento", "CA", "California", "95818", ["916"]),
    ("Fresno", "CA", "California", "93720", ["559"]), ("Irvine", "CA", "California", "92620", ["949"]),
    ("Phoenix", "AZ", "Arizona", "85016", ["602", "480"]), ("Mesa", "AZ", "Arizona", "85203", ["480"]),
    ("Tucson", "AZ", "Arizona", "85716", ["520"]), ("Gilbert", "AZ", "Arizona", "85234", ["480"]),
    ("Orlando", "FL", "Florida", "32803", ["407"]), ("Tampa", "FL", "Florida", "33606", ["813"]),
    ("St. Petersburg", "FL", "Florida", "33704", ["727"]), ("Denver", "CO", "Colorado", "80206", ["303", "720"]),
    ("Boulder", "CO", "Colorado", "80304", ["303"]), ("Fort Collins", "CO", "Colorado", "80521", ["970"]),
    ("Las Vegas", "NV", "Nevada", "89117", ["702"]), ("Henderson", "NV", "Nevada", "89052", ["702"]),
    ("Cherry Hill", "NJ", "New Jersey", "08002", ["856"]), ("Toms River", "NJ", "New Jersey", "08753", ["732"]),
    ("Worcester", "MA", "Massachusetts", "01602", ["508"]), ("Newton", "MA", "Massachusetts", "02459", ["617"]),
    ("Raleigh", "NC", "North Carolina", "27608", ["919"]), ("Asheville", "NC", "North Carolina", "28801", ["828"]),
    ("Salt Lake City", "UT", "Utah", "84105", ["801", "385"]), ("Huntington", "NY", "New York", "11743", ["631"]),
]
STREETS = [
    "Oak", "Maple", "Cedar", "Pecan", "Elm", "Willow", "Bluebonnet", "Mesquite", "Sunset", "Lakeview",
    "Ridgecrest", "Hillcrest", "Park", "Main", "2nd", "5th", "14th", "Martin Luther King Jr", "Cesar Chavez",
    "Camino del Sol", "El Camino Real", "Magnolia", "Sycamore", "Juniper", "Aspen", "Canyon Creek",
    "Old Mill", "Rio Grande", "Peachtree", "Harbor", "Prairie Wind", "Copper Ridge", "Saint Andrews",
]
SUFFIXES_STREET = ["St", "Street", "Ave", "Avenue", "Blvd", "Dr", "Drive", "Rd", "Road", "Ln", "Lane", "Ct",
                   "Cir", "Way", "Pkwy", "Trl", "Pl", "Loop"]
DIRECTIONS = ["N", "S", "E", "W", "N.", "NE", "SW"]
UNITS = ["Apt 4B", "Apt. 12", "Unit 210", "#3", "# 14", "Suite 300", "Ste 120", "Ste. 4", "Bldg 2", "Lot 45",
         "Apt 1203", "Unit C"]

# -- catalog ---------------------------------------------------------------------------------------

# (name, trade group, type, category, manufacturer, sku, cost, price, archived)
CATALOG = [
    ("REC Alpha Pure-R 410W Module", "ENERGY", "PRODUCT", "PV_MODULE", "REC", "REC410AA-PURE-R", 182.00, 289.00, False),
    ("Qcells Q.TRON BLK M-G2+ 425W", "ENERGY", "PRODUCT", "PV_MODULE", "Hanwha Qcells", "Q.TRON-425", 171.50, 265.00,
     False),
    ("Enphase IQ8M Microinverter", "ENERGY", "PRODUCT", "MICROINVERTER", "Enphase", "IQ8M-72-2-US", 139.00, 215.00,
     False),
    ("SolarEdge Home Hub Inverter 7.6 kW", "ENERGY", "PRODUCT", "PV_INVERTER", "SolarEdge", "SE7600H-USMNBBL14",
     1650.00, 2450.00, False),
    ("SolarEdge S440 Power Optimizer", "ENERGY", "PRODUCT", "POWER_OPTIMIZER", "SolarEdge", "S440-1GM4MRX", 52.00,
     89.00, False),
    ("IronRidge XR100 Rail, 168\"", "ENERGY", "PRODUCT", "RACKING", "IronRidge", "XR-100-168A", 58.40, 92.00, False),
    ("Tesla Powerwall 3", "ENERGY", "PRODUCT", "BATTERY_SYSTEM", "Tesla", "1707000-11-J", 8900.00, 12900.00, False),
    ("Enphase IQ Battery 5P", "ENERGY", "PRODUCT", "BATTERY_SYSTEM", "Enphase", "IQBATTERY-5P-1P-NA", 3950.00,
     6150.00, False),
    ("Enphase IQ Combiner 5", "ENERGY", "PRODUCT", "COMBINER_BOX", "Enphase", "X-IQ-AM1-240-5", 610.00, 895.00,
     False),
    ("ChargePoint Home Flex EV Charger", "ELECTRICAL", "PRODUCT", "EV_CHARGER", "ChargePoint", "CPH50-NEMA14-50-L23",
     549.00, 749.00, False),
    ("Square D 200A Main Breaker Load Center", "ELECTRICAL", "PRODUCT", "LOAD_CENTER", "Square D",
     "HOM3060M200PC", 310.00, 520.00, False),
    ("Carrier Infinity 24 Heat Pump – 3 Ton", "MECHANICAL", "PRODUCT", "HEAT_PUMP", "Carrier", "25VNA036A003",
     5200.00, 8400.00, False),
    ("Trane XR16 Air Conditioner, 4 Ton", "MECHANICAL", "PRODUCT", "AIR_CONDITIONER", "Trane", "4TTR6048J1000A",
     3900.00, 6250.00, False),
    ("Mitsubishi Hyper-Heat Mini-Split 18k BTU", "MECHANICAL", "PRODUCT", "HEAT_PUMP", "Mitsubishi Electric",
     "MXZ-2C20NAHZ2", 2350.00, 3890.00, False),
    ("ecobee Smart Thermostat Premium", "MECHANICAL", "PRODUCT", "THERMOSTAT", "ecobee", "EB-STATE6P-01", 165.00,
     249.00, False),
    ("Carrier Fan Coil Air Handler", "MECHANICAL", "PRODUCT", "AIR_HANDLING_UNIT", "Carrier", "FE4ANF003L00",
     1450.00, 2290.00, False),
    ("GAF Timberline HDZ Shingles (per square)", "ENVELOPE", "PRODUCT", "ROOF_COVERING", "GAF", "HDZ-CHARCOAL",
     118.00, 245.00, False),
    ("Synthetic Roof Underlayment (per square)", "ENVELOPE", "PRODUCT", "ROOF_UNDERLAYMENT", "GAF", "FELTBUSTER",
     21.00, 48.00, False),
    ("Site Survey", "ENERGY", "SERVICE", "SITE_SURVEY", None, None, 120.00, 250.00, False),
    ("Engineering & Plan Set", "ENERGY", "SERVICE", "ENGINEERING", None, None, 350.00, 650.00, False),
    ("Permit & Interconnection Fees", "ENERGY", "SERVICE", "PERMITTING", None, None, 400.00, 750.00, False),
    ("Solar Installation Labor (per W)", "ENERGY", "SERVICE", "INSTALLATION", None, None, 0.35, 0.62, False),
    ("Battery Installation Labor", "ENERGY", "SERVICE", "INSTALLATION", None, None, 900.00, 1750.00, False),
    ("Labor: Electrical", "ELECTRICAL", "SERVICE", "INSTALLATION", None, None, 65.00, 125.00, False),
    ("Main Panel Upgrade (200A)", "ELECTRICAL", "SERVICE", "REPLACEMENT", None, None, 1400.00, 2800.00, False),
    ("HVAC Installation Labor", "MECHANICAL", "SERVICE", "INSTALLATION", None, None, 1100.00, 2200.00, False),
    ("Removal & Disposal of Old Equipment", "MECHANICAL", "SERVICE", "REMOVAL", None, None, 150.00, 395.00, False),
    ("Roof Tear-off & Install Labor (per square)", "ENVELOPE", "SERVICE", "INSTALLATION", None, None, 85.00, 165.00,
     False),
    ("Final Inspection", "ENERGY", "SERVICE", "INSPECTION", None, None, 75.00, 150.00, False),
    ("Critter Guard / Pest Screen (per ft)", "ENERGY", "PRODUCT", "MOUNTING", None, "CG-6-100", 1.10, 4.50, False),
    ("Annual Monitoring Plan", "ENERGY", "SERVICE", "MONITORING", None, None, 0.00, 99.00, False),
    # category OTHER is avoided: it is in both category enums, so the reference's oneOf rejects it
    ("Referral Credit", "OTHER", "SERVICE", "ADJUSTMENT", None, None, 0.00, -250.00, False),
    ("Trip Charge", "OTHER", "SERVICE", "DIAGNOSTICS", None, None, 45.00, 89.99, False),
    # archived items, still on old invoices
    ("LG NeON 2 350W Module (discontinued)", "ENERGY", "PRODUCT", "PV_MODULE", "LG", "LG350N1C-V5", 160.00, 255.00,
     True),
    ("Enphase IQ7+ Microinverter", "ENERGY", "PRODUCT", "MICROINVERTER", "Enphase", "IQ7PLUS-72-2-US", 118.00,
     189.00, True),
]

# -- workflows -------------------------------------------------------------------------------------


def _workflows() -> list[Workflow]:
    def stages(first_id: int, steps: list[tuple[str, str, int, int]]) -> list[Stage]:
        return [Stage(first_id + i, name, kind, yellow, red) for i, (name, kind, yellow, red) in enumerate(steps)]

    def phases(first_id: int, steps: list[tuple[str, str, int, int]]) -> list[PhaseTemplate]:
        return [PhaseTemplate(first_id + i, name, kind, yellow, red)
                for i, (name, kind, yellow, red) in enumerate(steps)]

    solar = [("Site Survey", "SALES", 3, 7), ("Design", "PRE_CONSTRUCTION", 5, 10),
             ("Permitting", "PRE_CONSTRUCTION", 14, 30), ("GLASS ON ROOF", "CONSTRUCTION", 3, 7),
             ("Inspection", "POST_CONSTRUCTION", 7, 14), ("PTO", "POST_CONSTRUCTION", 14, 30)]
    return [
        Workflow(11, "Residential Solar (Legacy)", 1, stages=stages(1101, solar)),
        Workflow(12, "Roofing + Solar (Legacy)", 1, stages=stages(1201, [
            ("Roof Inspection", "SALES", 3, 7), ("Roof Replacement", "CONSTRUCTION", 5, 10), *solar[2:]])),
        Workflow(21, "Residential Solar + Storage", 2, phases=phases(2101, [
            *solar[:2], ("Permitting & Utility Approval", "PRE_CONSTRUCTION", 14, 30), solar[3],
            ("Battery Commissioning", "CONSTRUCTION", 2, 5), *solar[4:], ("Closeout", "POST_CONSTRUCTION", 7, 21)])),
        Workflow(22, "HVAC Change-out", 2, phases=phases(2201, [
            ("Site Survey", "SALES", 2, 5), ("Equipment Order", "PRE_CONSTRUCTION", 5, 14),
            ("Install", "CONSTRUCTION", 2, 4), ("Inspection", "POST_CONSTRUCTION", 7, 14),
            ("Closeout", "POST_CONSTRUCTION", 7, 21)])),
    ]


USERS = [
    User(1, "Maya", "Patel", "maya.patel@sunpeak-energy.example"),
    User(2, "Derek", "Olsen", "derek@sunpeak-energy.example"),
    User(3, "Lucía", "Fernández", "lucia.fernandez@sunpeak-energy.example"),
    User(4, "Tom", "Becker", "tbecker@sunpeak-energy.example"),
    User(5, "Aisha", "Rahman", "aisha@sunpeak-energy.example"),
]
UTILITIES = {"TX": ["Austin Energy", "Oncor", "CPS Energy", "CenterPoint"], "CA": ["PG&E", "SCE", "SDG&E", "SMUD"],
             "AZ": ["APS", "SRP", "TEP"], "FL": ["FPL", "Duke Energy Florida", "TECO"], "CO": ["Xcel Energy"],
             "NV": ["NV Energy"], "NJ": ["PSE&G", "JCP&L", "Atlantic City Electric"], "MA": ["Eversource",
             "National Grid"], "NC": ["Duke Energy"], "UT": ["Rocky Mountain Power"], "NY": ["PSEG Long Island"]}


def _fold(text: str) -> str:
    """ASCII letters of a name, for email local parts: 'Nguyễn' -> 'nguyen', "O'Brien" -> 'obrien'."""
    text = text.replace("Đ", "D").replace("đ", "d").replace("ø", "o").replace("Ø", "O").replace("ł", "l")
    text = text.replace("Ł", "L")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_text.lower() if ch.isalnum())


class _Generator:
    def __init__(self, backend: CoperniqBackend, seed: int, anchor: datetime):
        self.b = backend
        self.rng = random.Random(seed)
        self.anchor = anchor
        self.start = anchor - HISTORY
        self.span = HISTORY.total_seconds()
        self.workflows = {w.id: w for w in _workflows()}
        self.catalog: dict[str, CatalogItemRecord] = {}

    # -- basics -----------------------------------------------------------------------------------

    def when(self, after: datetime | None = None, skew: float = 1.0) -> datetime:
        """A moment between ``after`` (default: five years ago) and the anchor; skew > 1 leans late."""
        low = after or self.start
        room = (self.anchor - low).total_seconds()
        return truncate_ms(low + timedelta(seconds=room * (self.rng.random() ** (1 / skew))))

    def updated(self, created: datetime) -> datetime:
        if self.rng.random() < 0.15:
            return created  # never edited
        return self.when(created, skew=1.6)

    def person(self) -> tuple[str, str, str]:
        """(first, last, display name as typed into the CRM)."""
        rng = self.rng
        first = rng.choice(FIRST_NAMES)
        last = rng.choices(LAST_NAMES, LAST_WEIGHTS)[0]
        roll = rng.random()
        if roll < 0.62:
            name = f"{first} {last}"
        elif roll < 0.70:
            name = f"{first} {rng.choice('ABCDEFGHJKLMRST')}. {last}"
        elif roll < 0.76:
            name = f"{first} & {rng.choice(FIRST_NAMES)} {last}"  # couples as one contact
        elif roll < 0.81:
            name = f"{first} {last} {rng.choice(SUFFIXES)}"
        elif roll < 0.86:
            name = f"{first} {last}".lower()
        elif roll < 0.90:
            name = f"{last}, {first}"
        elif roll < 0.93:
            name = f"{first.upper()} {last.upper()}"
        elif roll < 0.96:
            name = f"Dr. {first} {last}"
        elif roll < 0.98:
            name = f" {first}  {last} "
        else:
            name = first  # only a first name
        return first, last, name

    def phone(self, areas: list[str]) -> str:
        rng = self.rng
        area = rng.choice(areas) if rng.random() < 0.85 else rng.choice(rng.choice(CITIES)[4])
        exchange = f"{rng.randint(2, 9)}{rng.randint(0, 9)}{rng.randint(0, 9)}"
        if exchange[1:] == "11":
            exchange = exchange[0] + "21"
        line = f"{rng.randint(0, 9999):04d}"
        fmt = rng.random()
        if fmt < 0.28:
            text = f"({area}) {exchange}-{line}"
        elif fmt < 0.42:
            text = f"{area}-{exchange}-{line}"
        elif fmt < 0.54:
            text = f"{area}.{exchange}.{line}"
        elif fmt < 0.66:
            text = f"{area}{exchange}{line}"
        elif fmt < 0.76:
            text = f"+1 {area} {exchange} {line}"
        elif fmt < 0.83:
            text = f"+1{area}{exchange}{line}"
        elif fmt < 0.89:
            text = f"1-{area}-{exchange}-{line}"
        elif fmt < 0.93:
            text = f"({area}){exchange}-{line}"
        elif fmt < 0.965:
            text = f"{area}-{exchange}-{line} ext. {rng.randint(1, 450)}"
        else:
            text = f"({area}) {exchange}-{line} x{rng.randint(10, 999)}"
        return text

    def email(self, first: str, last: str, business_domain: str | None = None) -> str:
        rng = self.rng
        f, surname = _fold(first) or "info", _fold(last) or "home"
        if business_domain:
            local = rng.choice([f, f"{f}.{surname}", f"{f[0]}{surname}", "office", "billing", "ap", "info"])
            return f"{local}@{business_domain}"
        domain = rng.choice(EMAIL_DOMAINS)
        pattern = rng.random()
        if pattern < 0.3:
            local = f"{f}.{surname}"
        elif pattern < 0.5:
            local = f"{f}{surname}{rng.randint(1, 99)}"
        elif pattern < 0.65:
            local = f"{f[0]}{surname}"
        elif pattern < 0.75:
            local = f"{f}_{surname}{rng.randint(60, 99)}"
        elif pattern < 0.85:
            local = f"{f}.{surname}+solar"
        elif pattern < 0.93:
            local = f"{surname}family{rng.randint(1, 9)}"
        else:
            local = f"{f}{rng.randint(100, 9999)}"
        address = f"{local}@{domain}"
        roll = rng.random()
        if roll < 0.05:
            address = address.title()  # 'Maria.Gonzalez@Gmail.Com', as autocorrect leaves it
        elif roll < 0.07:
            address = address.upper()
        return address

    def address(self, city: tuple[str, str, str, str, list[str]]) -> tuple[str, str]:
        """(the one-line address as typed, the street part alone)."""
        rng = self.rng
        name, state, state_name, zip5, _ = city
        number = str(rng.choice([rng.randint(100, 9999), rng.randint(10, 99), rng.randint(10000, 24999)]))
        street = rng.choice(STREETS)
        suffix = rng.choice(SUFFIXES_STREET)
        line = f"{number} {street} {suffix}"
        if rng.random() < 0.12:
            line = f"{number} {rng.choice(DIRECTIONS)} {street} {suffix}"
        elif rng.random() < 0.05:
            line = f"{number} {street} {suffix} NW"
        unit = rng.choice(UNITS) if rng.random() < 0.16 else None
        zip_code = f"{zip5[:3]}{int(zip5[3:]) + rng.randint(0, 40):02d}"
        street_part = f"{line} {unit}" if unit else line
        roll = rng.random()
        if roll < 0.40:
            sep = ", " if unit and rng.random() < 0.5 else " "
            text = f"{line}{sep}{unit}, {name}, {state} {zip_code}" if unit else f"{line}, {name}, {state} {zip_code}"
        elif roll < 0.50:
            text = f"{street_part}, {name}, {state} {zip_code}-{rng.randint(1, 9999):04d}"
        elif roll < 0.58:
            text = f"{street_part}, {name}, {state_name} {zip_code}"
        elif roll < 0.66:
            text = f"{street_part} {name} {state} {zip_code}"
        elif roll < 0.73:
            text = f"{street_part}, {name}, {state} {zip_code}".lower()
        elif roll < 0.78:
            text = street_part
        elif roll < 0.83:
            text = f"  {street_part}  ,{name} ,  {state}  {zip_code} "
        elif roll < 0.88:
            text = f"{street_part}, {name}, {state}"
        elif roll < 0.92:
            text = f"{street_part}, {name} {state} {zip_code}".upper()
        elif roll < 0.95:
            text = f"{street_part}\n{name}, {state} {zip_code}"
        elif roll < 0.98:
            text = f"{street_part}, {name} {state}, {zip_code}"
        else:
            text = f"{street_part}, {name}, {state} {zip_code}, {rng.choice(['USA', 'United States', 'US'])}"
        return text, street_part

    # -- company set-up ---------------------------------------------------------------------------

    def setup(self) -> None:
        b = self.b
        for user in USERS:
            b.users[user.id] = user
        b.api_user_id = USERS[0].id
        b.workflows.update(self.workflows)
        for index, (name, group, kind, category, maker, sku, cost, price, archived) in enumerate(CATALOG, start=1):
            created = self.when(skew=0.4)
            item = CatalogItemRecord(
                id=index, name=name, catalog=group, type=kind, category=category, cost=cost, price=price,
                created_at=created, updated_at=self.updated(created), manufacturer=maker, sku=sku,
                code=f"{'P' if kind == 'PRODUCT' else 'S'}-{1000 + index}",
                description=None if self.rng.random() < 0.4 else f"{name} ({kind.lower()})",
                is_archived=archived, created_by_id=self.rng.choice(USERS).id,
            )
            b.catalog_items[item.id] = item
            self.catalog[name] = item

    # -- customers and their projects -------------------------------------------------------------

    def customer(self, remaining: int) -> int:
        """One customer (household or business) with its account, contacts, projects and invoices."""
        rng, b = self.rng, self.b
        business = rng.random() < 0.1
        city = rng.choice(CITIES)
        first, last, person_name = self.person()
        domain = None
        company = ""
        if business:
            company = rng.choice(BUSINESSES)
            domain = _fold(company.split(",")[0])[:24] + rng.choice([".com", ".com", ".net", ".org"])
        account = None
        customer_created = self.when()
        if rng.random() < 0.85:
            title = company if business else rng.choice([f"{first} {last}", f"{last}, {first}",
                                                         f"{last} Household", person_name.strip()])
            account = Account(b.next_record_id(), b.next_project_number(), title, customer_created,
                              self.updated(customer_created))
            b.accounts[account.id] = account
        # contacts: the first is the primary one
        contacts: list[ContactRecord] = []
        count = rng.choices([0, 1, 2, 3], [4, 60, 30, 6])[0]
        for n in range(count):
            if n == 0 and not business:
                c_first, c_last, c_name = first, last, person_name
            else:
                c_first, c_last, c_name = self.person()
                if not business and rng.random() < 0.6:
                    c_last = last
                    c_name = f"{c_first} {last}"
            created = truncate_ms(customer_created - timedelta(days=rng.random() * 20))
            created = max(created, self.start)
            emails = [self.email(c_first, c_last, domain if business and rng.random() < 0.8 else None)
                      for _ in range(rng.choices([0, 1, 2, 3], [12, 68, 16, 4])[0])]
            phones = [self.phone(city[4]) for _ in range(rng.choices([0, 1, 2, 3], [10, 64, 21, 5])[0])]
            contact = ContactRecord(
                id=b.next_contact_id(), name=c_name, created_at=created, updated_at=self.updated(created),
                emails=list(dict.fromkeys(emails)), phones=phones,
                title=rng.choice(CONTACT_TITLES) if business else rng.choice(["Homeowner", None, None, "Spouse"]),
                created_by=rng.choice(USERS).id if rng.random() < 0.8 else None,
                account_ids=[account.id] if account else [],
            )
            b.contacts[contact.id] = contact
            contacts.append(contact)
        projects = min(remaining, rng.choices([1, 2, 3], [85, 12, 3])[0])
        same_site = rng.random() < 0.7  # a second project is usually at the same home
        site = self.address(city)
        earliest = self.anchor
        for n in range(projects):
            if n and not same_site:
                site = self.address(rng.choice(CITIES) if business else city)
            earliest = min(earliest, self.project(account, contacts, first, last, company, site, city, n))
        for contact in contacts:  # a contact exists before its first project
            if contact.created_at > earliest:
                contact.created_at = max(truncate_ms(earliest - timedelta(days=rng.random() * 20)), self.start)
                contact.updated_at = max(contact.updated_at, contact.created_at)
        return projects

    def project(self, account: Account | None, contacts: list[ContactRecord], first: str, last: str,
                company: str, site: tuple[str, str], city: tuple[str, str, str, str, list[str]],
                nth: int) -> datetime:
        """Adds one project (and its invoices); returns its createdAt."""
        rng, b = self.rng, self.b
        address, street = site
        workflow = self.workflows[rng.choices([11, 12, 21, 22], [30, 8, 42, 20])[0]]
        trades = {11: ["Solar"], 12: ["Roofing", "Solar"], 22: ["HVAC"]}.get(
            workflow.id, rng.choice([["Solar", "Battery"], ["Solar"], ["Battery"], ["Solar", "Battery", "EV"]]))
        size: float | None
        if "HVAC" in trades:
            size = rng.choice([2.0, 2.5, 3.0, 3.5, 4.0, 5.0])
            value: float | None = round(rng.uniform(8500, 24000), rng.choice([0, 2]))
        elif trades == ["Battery"]:
            size = rng.choice([13.5, 10.0, 20.0, 27.0])
            value = round(rng.uniform(11000, 32000), rng.choice([0, 2]))
        else:
            size = round(rng.uniform(3.2, 16.8), 2)
            value = round(size * 1000 * rng.uniform(2.55, 3.6) + (12900 if "Battery" in trades else 0),
                          rng.choice([0, 2]))
            if "Roofing" in trades:
                value = round(value + rng.uniform(14000, 32000), 2)
        if rng.random() < 0.05:
            value = None
        if rng.random() < 0.06:
            size = None
        title = self.title(first, last, company, street, trades, size, nth)
        if account is not None and rng.random() < 0.02:
            title = rng.choice(["", "   "])  # untitled: the API shows the account's title instead
        created = self.when()
        if account is not None and account.created_at > created:
            account.created_at = created
            account.updated_at = max(account.updated_at, created)
        status = rng.choices(PROJECT_STATUS_CHOICES, PROJECT_STATUS_WEIGHTS)[0]
        project = ProjectRecord(
            id=b.next_record_id(), number=b.next_project_number(), title=title, address=[address],
            created_at=created, updated_at=self.updated(created),
            description=self.description(trades, size) if rng.random() < 0.45 else None,
            is_active=rng.random() >= 0.07, status=status, trades=trades, value=value, size=size,
            workflow_id=workflow.id, account_id=account.id if account else None,
            custom=self.custom(city) if rng.random() < 0.4 else {},
            created_by=rng.choice(USERS).id if rng.random() < 0.85 else None,
        )
        if project.updated_at != project.created_at and rng.random() < 0.9:
            project.updated_by = rng.choice(USERS).id
        self.place_in_workflow(project, workflow)
        for contact in contacts:
            project.contact_ids.append(contact.id)
            contact.project_ids.append(project.id)
        b.projects[project.id] = project
        for _ in range(rng.choices([0, 1, 2, 3], [24, 53, 18, 5])[0]):
            self.invoice(project)
        return created

    def title(self, first: str, last: str, company: str, street: str, trades: list[str],
              size: float | None, nth: int) -> str:
        rng = self.rng
        if company:
            return rng.choice([company, f"{company} - Rooftop PV", f"{company} – {trades[0]} Project",
                               company.upper()])
        if nth and rng.random() < 0.5:
            return rng.choice([f"{last} Residence", f"{last} Residence - Battery Add-on", f"{last} - Phase 2"])
        roll = rng.random()
        if roll < 0.42:
            return f"{last} Residence"
        if roll < 0.56:
            return f"{first} {last}"
        if roll < 0.63:
            return f"{last}, {first}"
        if roll < 0.71 and size and "Solar" in trades:
            return f"{last} - {size:g} kW"
        if roll < 0.78:
            return f"{last} {trades[0]}"
        if roll < 0.86:
            return street
        if roll < 0.92 and "HVAC" in trades:
            return f"{last} HVAC Replacement"
        if roll < 0.96:
            return f"{first} {last} - {' + '.join(trades)}"
        return f"{last.upper()} RESIDENCE"

    def description(self, trades: list[str], size: float | None) -> str:
        rng = self.rng
        if "HVAC" in trades:
            return rng.choice(["Replace 20-yr-old AC + furnace with heat pump.",
                               f"{size or 3:g} ton heat pump change-out; attic air handler",
                               "Ductless mini-split, 2 zones"])
        text = f"{size or 'TBD'} kW DC rooftop PV"
        if "Battery" in trades:
            text += " + battery backup (whole-home)"
        return rng.choice([text, text + ". HOA approval needed.", text + "\nCustomer prefers text, not calls.",
                           text.lower(), text + " — south & west arrays"])

    def custom(self, city: tuple[str, str, str, str, list[str]]) -> dict[str, object]:
        rng = self.rng
        options: dict[str, object] = {
            "utility": rng.choice(UTILITIES.get(city[1], ["Local co-op"])),
            "financing": rng.choice(["Cash", "Loan - GoodLeap", "Loan - Mosaic", "Lease", "PPA"]),
            "hoa_approval_required": rng.random() < 0.3,
            "legacy_tool_project_id": f"SF-{rng.randint(1, 99999):06d}",
            "roof_type": rng.choice(["Comp Shingle", "Concrete Tile", "Standing Seam Metal", "Flat / TPO"]),
            "lead_source": rng.choice(["Referral", "Door-to-door", "Website", "Home Show", "Google Ads"]),
            "permit_number": f"BP-{rng.randint(2021, 2026)}-{rng.randint(1, 999999):06d}",
            "install_date": (self.anchor - timedelta(days=rng.randint(1, 1700))).date().isoformat(),
            "system_size_kw": round(rng.uniform(3, 15), 2),
        }
        keys = rng.sample(sorted(options), rng.randint(1, 5))
        return {k: options[k] for k in keys}

    def place_in_workflow(self, project: ProjectRecord, workflow: Workflow) -> None:
        rng, b = self.rng, self.b
        steps = len(workflow.stages) if workflow.version == 1 else len(workflow.phases)
        # completed projects sit in the last step; open ones lean towards the early steps
        position = steps - 1 if project.status == "COMPLETED" else min(int(rng.random() ** 1.3 * steps), steps - 1)
        entered = self.when(project.created_at, skew=2.0)
        if workflow.version == 1:
            project.stage_id = workflow.stages[position].id
            project.stage_entered_at = entered
            return
        started = project.created_at
        span = (entered - started) / max(position, 1)
        for index, template in enumerate(workflow.phases):
            instance = PhaseInstance(b.next_phase_instance_id(), template, index + 1, "NOT_STARTED")
            if index < position or (index == position and project.status == "COMPLETED"):
                instance.status = "COMPLETED"
                instance.started_at = truncate_ms(started + span * index)
                instance.completed_at = truncate_ms(started + span * (index + 1)) if index < position else entered
            elif index == position:
                instance.status, instance.started_at = "IN_PROGRESS", entered
            project.phase_instances.append(instance)

    # -- invoices ---------------------------------------------------------------------------------

    def invoice(self, project: ProjectRecord) -> None:
        rng, b = self.rng, self.b
        created = self.when(project.created_at, skew=1.3)
        percentage = base = None
        lines: list[LineItem] = []
        if project.value is not None and rng.random() < 0.3:
            method = "PERCENTAGE"
            percentage = rng.choice([10.0, 25.0, 30.0, 50.0, 40.0, 100.0, 33.33])
            base = project.value
            amount = money(Decimal(str(base)) * Decimal(str(percentage)) / 100)
            description: str | None = rng.choice([
                f"Deposit ({percentage:g}%)", f"Progress billing {percentage:g}%",
                "Final payment" if percentage == 100 else "Milestone: permit approved"])
        else:
            method = "LINE_ITEMS"
            lines = self.lines(project, created)
            amount = b.line_items_amount(lines)
            description = rng.choice([None, None, "Final invoice", f"{' + '.join(project.trades)} installation",
                                      "Change order #1", "Service call"])
        status = rng.choices(INVOICE_STATUS_CHOICES, INVOICE_STATUS_WEIGHTS)[0]
        paid = {"PAID": amount, "PARTIALLY_PAID": money(Decimal(str(amount)) * Decimal(rng.randint(15, 85)) / 100)}
        due = None if status == "DRAFT" and rng.random() < 0.15 else truncate_ms(
            created + timedelta(days=rng.choice([0, 10, 15, 30, 30, 30, 45, 60])))
        invoice = InvoiceRecord(
            id=b.next_invoice_id(), uid=b.next_invoice_uid(), record_id=project.id, calculation_method=method,
            status=status, amount=amount, created_at=created, updated_at=self.updated(created),
            amount_paid=paid.get(status, 0.0), description=description, due_date=due,
            issue_date=None if status == "DRAFT" else created, percentage=percentage, base_amount=base,
            is_archived=rng.random() < 0.02, shared_with_portal=status != "DRAFT" and rng.random() < 0.6,
            line_items=lines,
        )
        b.invoices[invoice.id] = invoice

    def lines(self, project: ProjectRecord, created: datetime) -> list[LineItem]:
        rng, c = self.rng, self.catalog
        old = created < self.anchor - timedelta(days=3 * 365)
        picks: list[tuple[CatalogItemRecord, int]] = []
        kw = project.size or 7.2
        if "Solar" in project.trades:
            modules = max(int(kw * 1000 / 410), 6)
            module = c["LG NeON 2 350W Module (discontinued)"] if old and rng.random() < 0.5 else rng.choice(
                [c["REC Alpha Pure-R 410W Module"], c["Qcells Q.TRON BLK M-G2+ 425W"]])
            picks.append((module, modules))
            if rng.random() < 0.6:
                micro = "Enphase IQ7+ Microinverter" if old and rng.random() < 0.5 else "Enphase IQ8M Microinverter"
                picks.append((c[micro], modules))
            else:
                picks += [(c["SolarEdge Home Hub Inverter 7.6 kW"], 1), (c["SolarEdge S440 Power Optimizer"], modules)]
            picks.append((c["IronRidge XR100 Rail, 168\""], max(modules // 2, 2)))
            picks.append((c["Solar Installation Labor (per W)"], int(kw * 1000)))
            picks += [(c[n], 1) for n in ("Permit & Interconnection Fees", "Engineering & Plan Set")
                      if rng.random() < 0.6]
            if rng.random() < 0.2:
                picks.append((c["Critter Guard / Pest Screen (per ft)"], rng.randint(60, 220)))
        if "Battery" in project.trades:
            picks.append(rng.choice([(c["Tesla Powerwall 3"], 1), (c["Enphase IQ Battery 5P"], rng.randint(1, 3))]))
            picks.append((c["Battery Installation Labor"], 1))
        if "EV" in project.trades:
            picks.append((c["ChargePoint Home Flex EV Charger"], 1))
        if "HVAC" in project.trades:
            picks.append(rng.choice([(c["Carrier Infinity 24 Heat Pump – 3 Ton"], 1),
                                     (c["Trane XR16 Air Conditioner, 4 Ton"], 1),
                                     (c["Mitsubishi Hyper-Heat Mini-Split 18k BTU"], rng.randint(1, 3))]))
            picks += [(c["Carrier Fan Coil Air Handler"], 1), (c["ecobee Smart Thermostat Premium"], 1),
                      (c["HVAC Installation Labor"], 1), (c["Removal & Disposal of Old Equipment"], 1)]
        if "Roofing" in project.trades:
            squares = rng.randint(18, 42)
            picks += [(c["GAF Timberline HDZ Shingles (per square)"], squares),
                      (c["Synthetic Roof Underlayment (per square)"], squares),
                      (c["Roof Tear-off & Install Labor (per square)"], squares)]
        if rng.random() < 0.15:
            picks.append((c["Main Panel Upgrade (200A)"], 1))
        if rng.random() < 0.1:
            picks.append((c["Labor: Electrical"], rng.randint(2, 12)))
        if rng.random() < 0.08:
            picks.append((c["Referral Credit"], rng.randint(1, 2)))
        if rng.random() < 0.06:
            picks.append((c["Trip Charge"], 1))
        if rng.random() < 0.1:
            picks.append((c["Annual Monitoring Plan"], 1))
        if rng.random() < 0.25:  # a short invoice: a service call or a change order
            picks = rng.sample(picks, k=min(len(picks), rng.randint(1, 2)))
        lines: list[LineItem] = []
        seen: set[int] = set()
        for item, quantity in picks:
            if item.id in seen:
                continue
            seen.add(item.id)
            price = item.price or 0.0
            if rng.random() < 0.2 and price > 0:
                price = round(price * rng.uniform(0.85, 1.1), 2)  # negotiated price
            lines.append(LineItem(
                id=self.b.next_line_item_id(), catalog_item_id=item.id, quantity=quantity,
                unit_cost=item.cost or 0.0, unit_price=price,
                description=None if rng.random() < 0.5 else item.name,
            ))
        return lines


PROJECT_STATUS_CHOICES = ["ACTIVE", "ON_HOLD", "CANCELLED", "COMPLETED"]
PROJECT_STATUS_WEIGHTS = [55, 8, 7, 30]
INVOICE_STATUS_CHOICES = ["DRAFT", "SENT", "PARTIALLY_PAID", "PAID", "OVERDUE", "DECLINED"]
INVOICE_STATUS_WEIGHTS = [12, 25, 13, 42, 5, 3]


def populate(backend: CoperniqBackend, projects: int = 200, seed: int = 42, anchor: datetime = SEED_ANCHOR) -> None:
    """Fill an empty backend with ``projects`` projects and everything that goes with them."""
    if projects < 0:
        raise ValueError("projects must be >= 0")
    generator = _Generator(backend, seed, anchor)
    with backend.lock:
        generator.setup()
        made = 0
        while made < projects:
            made += generator.customer(projects - made)
        backend.sync_sequences()
