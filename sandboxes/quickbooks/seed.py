"""A realistic QuickBooks company, the same for the same seed.

A home-energy contractor five years into using QuickBooks: customers (people and companies, a few
with non-ASCII or apostrophe names, some inactive, some with notes), a handful of vendors and
employees whose names a customer could also want, the items it sells, its payment terms, and
invoices of one to four lines, most old ones paid, some partly paid. Times are spread over the
five years before the backend's clock, so with a :class:`ManualClock` the company is identical
byte for byte; with the wall clock only the absolute times move.
"""

from __future__ import annotations

import random
import unicodedata
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from .errors import DuplicateName
from .models import PACIFIC, RealmBackend, qbo_timestamp

GIVEN = [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Carlos", "Karen",
    "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Sandra", "Mark", "Ashley", "Steven", "Emily",
    "Andrew", "Michelle", "Kevin", "Amanda", "Brian", "Melissa", "Wei", "Priya", "Hiroshi", "Aisha",
    "José", "Zoë", "Renée", "Björn", "Chloé", "Siobhán", "François", "Łukasz", "Søren", "Mónica",
]
FAMILY = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Nguyen", "Hill", "Flores", "Green",
    "O'Brien", "D'Angelo", "Müller", "Núñez", "Nguyễn", "Kowalski", "Okafor", "Tanaka", "Patel", "Chen",
]
COMPANY_PATTERNS = [
    "{family} Family Trust", "{family} Properties LLC", "{place} HOA", "{place} Apartments",
    "{place} Dental Group", "{family} & Sons Plumbing", "{place} Self Storage", "{place} Community Church",
    "{family} Farms", "{place} Veterinary Clinic", "{place} Montessori School", "{family} Law Office",
]
PLACES = [
    "Harbor View", "Cedar Ridge", "Blue Oak", "Sunset Hills", "Mission Creek", "Lakeside", "Redwood",
    "Golden Gate", "Canyon Vista", "Willow Glen", "Pine Valley", "Desert Rose", "Silver Lake", "Bayshore",
]
STREETS = [
    "Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Pine St", "Elm St", "Washington Blvd", "Lakeview Dr",
    "Sunset Blvd", "Park Ave", "Hillcrest Rd", "Mission St", "Valley View Rd", "Ocean Ave", "El Camino Real",
    "Juniper Way", "Canyon Rd", "Rosewood Ct", "Magnolia Ave", "Highland Dr",
]
CITIES = [
    ("San Jose", "CA", "95112"), ("Oakland", "CA", "94607"), ("Sacramento", "CA", "95814"),
    ("Fresno", "CA", "93721"), ("San Diego", "CA", "92101"), ("Irvine", "CA", "92618"),
    ("Pasadena", "CA", "91101"), ("Santa Rosa", "CA", "95404"), ("Phoenix", "AZ", "85004"),
    ("Tucson", "AZ", "85701"), ("Mesa", "AZ", "85201"), ("Las Vegas", "NV", "89101"), ("Reno", "NV", "89501"),
    ("Austin", "TX", "78701"), ("San Antonio", "TX", "78205"), ("Denver", "CO", "80202"),
    ("Boulder", "CO", "80302"), ("Salt Lake City", "UT", "84101"), ("Albuquerque", "NM", "87102"),
    ("Portland", "OR", "97204"), ("Tampa", "FL", "33602"), ("Orlando", "FL", "32801"),
    ("Boston", "MA", "02108"), ("Brooklyn", "NY", "11201"), ("Honolulu", "HI", "96813"),
]
UNITS = ["Apt 4B", "Unit 12", "Suite 200", "Apt 301", "Unit C", "#7"]
EMAIL_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com", "comcast.net"]
NOTES = [
    "On hold: unpaid invoice {doc}", "Gate code {code}", "Prefers email contact",
    "Dog on property - call before arriving", "Tax exempt certificate on file", "Referred by {name}",
    "Second install at rental property planned", "Call after 5pm only", "Warranty claim open with manufacturer",
]
ITEMS = [
    ("Services", 0, "Service", True),  # QBO's default item: Id 1, used when a line names none
    ("Solar Panel Installation", 18500, "Service", True),
    ("Battery Storage System", 12900, "NonInventory", True),
    ("HVAC Tune-up", 189, "Service", True),
    ("Heat Pump Installation", 14200, "Service", True),
    ("EV Charger Installation", 1850, "Service", True),
    ("Electrical Panel Upgrade", 3200, "Service", True),
    ("Roof Inspection", 350, "Service", True),
    ("Permit Fee", 450, "Service", True),
    ("Labor Hour", 125, "Service", True),
    ("Legacy Maintenance Plan", 299, "Service", False),
]
TERMS = [("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30), ("Net 60", 60)]
# Vendors and employees whose names a customer could have: DisplayName is unique across all three.
VENDORS = [
    ("Home Depot", True), ("Rexel USA", True), ("Enphase Energy", True), ("City of San Jose Permits", True),
    ("Maria Garcia", True), ("Sunbelt Rentals", False), ("Pacific Gas & Electric", True), ("Ferguson HVAC", True),
]
EMPLOYEES = [("Carlos", "Mendoza"), ("Emily", "Chen"), ("John", "Smith"), ("Priya", "Patel")]
YEARS = timedelta(days=5 * 365)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().replace("'", "").lower()


def _phone(rng: random.Random) -> str:
    area = rng.choice(["408", "510", "916", "559", "619", "949", "626", "707", "602", "520", "702", "512", "303"])
    line = f"01{rng.randint(0, 99):02d}"  # 555-0100..0199 are reserved for fiction
    return rng.choice(["({a}) 555-{n}", "{a}-555-{n}", "{a}.555.{n}", "+1 {a} 555 {n}"]).format(a=area, n=line)


def _address(rng: random.Random) -> dict[str, str]:
    city, state, postal = rng.choice(CITIES)
    address = {"Line1": f"{rng.randint(10, 9899)} {rng.choice(STREETS)}", "City": city,
               "CountrySubDivisionCode": state, "PostalCode": postal, "Country": "USA"}
    if rng.random() < 0.15:
        address["Line2"] = rng.choice(UNITS)
    return address


def _moment(rng: random.Random, start: datetime, end: datetime) -> datetime:
    span = max((end - start).total_seconds(), 1.0)
    return (start + timedelta(seconds=rng.uniform(0, span))).replace(microsecond=0)


def _times(record: dict[str, Any], created: datetime, updated: datetime) -> None:
    record["MetaData"] = {"CreateTime": qbo_timestamp(created), "LastUpdatedTime": qbo_timestamp(updated)}


def seed_company(backend: RealmBackend, customers: int = 50, invoices: int = 80, seed: int = 42) -> None:
    """Fill an empty backend with a company of ``customers`` customers and ``invoices`` invoices."""
    rng = random.Random(seed)
    now = backend.clock.now().replace(microsecond=0)
    founded = now - YEARS - timedelta(days=200)

    for name, days in TERMS:
        _times(backend.terms[backend.add_term(name, days)["Id"]], founded, founded)
    for name, price, kind, active in ITEMS:
        item = backend.add_item(name, price, kind, active)
        updated = founded if active else _moment(rng, founded, now - timedelta(days=400))
        _times(backend.items[item["Id"]], founded, updated)
    for name, active in VENDORS:
        vendor = backend.add_vendor(name, Active=active, CompanyName=name, _when=founded)
        _times(backend.vendors[vendor["Id"]], founded, _moment(rng, founded, now))
    for given, family in EMPLOYEES:
        employee = backend.add_employee(given, family, _when=founded)
        _times(backend.employees[employee["Id"]], founded, founded)

    created_at: dict[str, datetime] = {}
    net30 = next(t["Id"] for t in backend.terms.values() if t["Name"] == "Net 30")
    for _ in range(customers):
        record = _new_customer(backend, rng, net30)
        created = _moment(rng, now - YEARS, now - timedelta(days=1))
        created_at[record["Id"]] = created
        _times(backend.customers[record["Id"]], created, created)

    customer_ids = list(created_at)
    sellable = [i for i in backend.items.values() if i["Active"] and i["Name"] != "Services"]
    if customer_ids:
        plans = []
        for _ in range(invoices):
            customer_id = rng.choice(customer_ids)
            plans.append((_moment(rng, created_at[customer_id], now - timedelta(hours=1)), customer_id))
        plans.sort()
        for txn_at, customer_id in plans:
            _new_invoice(backend, rng, customer_id, txn_at, now, sellable)

    # Customers edited later (including the ones made inactive) get later LastUpdatedTimes.
    for customer_id, created in created_at.items():
        record = backend.customers[customer_id]
        if rng.random() < 0.08:
            backend.deactivate_customer(customer_id)
        elif rng.random() >= 0.4:
            continue
        record = backend.customers[customer_id]
        record["SyncToken"] = str(rng.randint(1, 6))
        _times(record, created, _moment(rng, created, now))


def _new_customer(backend: RealmBackend, rng: random.Random, net30: str) -> dict[str, Any]:
    given, family = rng.choice(GIVEN), rng.choice(FAMILY)
    fields: dict[str, Any] = {"GivenName": given, "FamilyName": family}
    display = f"{given} {family}"
    if rng.random() < 0.3:
        company = rng.choice(COMPANY_PATTERNS).format(family=family, place=rng.choice(PLACES))
        fields["CompanyName"] = display = company
    if rng.random() < 0.9:
        local = f"{_ascii(given)}.{_ascii(family)}"
        domain = rng.choice(EMAIL_DOMAINS)
        if "CompanyName" in fields:
            domain = "".join(ch for ch in _ascii(fields["CompanyName"]) if ch.isalnum())[:20] + ".com"
        fields["PrimaryEmailAddr"] = {"Address": f"{local}{rng.choice(['', '', str(rng.randint(1, 99))])}@{domain}"}
    if rng.random() < 0.85:
        fields["PrimaryPhone"] = {"FreeFormNumber": _phone(rng)}
    if rng.random() < 0.95:
        fields["BillAddr"] = _address(rng)
    if rng.random() < 0.12:
        fields["Notes"] = rng.choice(NOTES).format(
            doc=rng.randint(1001, 1000 + max(backend._doc_seq - 999, 80)), code=rng.randint(1000, 9999),
            name=f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}",
        )
    if rng.random() < 0.4:
        fields["SalesTermRef"] = {"value": net30 if rng.random() < 0.7 else rng.choice(["1", "2", "4"])}
    # Real people share names: a user disambiguates with a middle initial, then a number.
    candidates = [display, f"{given} {rng.choice('ABCDEFGHJKLMNPRSTW')}. {family}"]
    if "CompanyName" not in fields:
        candidates.append(f"{given} {rng.choice('ABCDEFGHJKLMNPRSTW')}. {family}")
    for attempt in range(50):
        name = candidates[attempt] if attempt < len(candidates) else f"{display} {attempt}"
        try:
            return backend.add_customer(DisplayName=name, **fields)
        except DuplicateName:
            continue
    raise RuntimeError(f"could not find a free DisplayName for {display}")


def _new_invoice(
    backend: RealmBackend, rng: random.Random, customer_id: str, txn_at: datetime, now: datetime,
    sellable: list[dict[str, Any]],
) -> None:
    lines = []
    for item in rng.sample(sellable, rng.randint(1, min(4, len(sellable)))):
        qty = rng.randint(2, 16) if item["Name"] == "Labor Hour" else rng.choice([1, 1, 1, 2])
        price = Decimal(str(item["UnitPrice"])) * Decimal(str(rng.choice([1, 1, 0.95, 1.1, 0.9])))
        lines.append((item["Id"], qty, float(price.quantize(Decimal("0.01")))))
    txn_date = txn_at.astimezone(PACIFIC).date().isoformat()
    fields: dict[str, Any] = {"TxnDate": txn_date}
    if "SalesTermRef" not in backend.customers[customer_id] and rng.random() < 0.7:
        fields["SalesTermRef"] = {"value": rng.choice(["1", "2", "3", "3", "3", "4"])}
    if rng.random() < 0.2:
        fields["CustomerMemo"] = {"value": "Thank you for your business!"}
    if rng.random() < 0.25:
        fields["CustomField"] = [{"DefinitionId": "1", "Type": "StringType",
                                  "StringValue": rng.choice(["Carlos M.", "Emily C.", "Team B"])}]
    invoice = backend.add_invoice(customer_id, lines, **fields)
    record = backend.invoices[invoice["Id"]]
    age = (now - txn_at).days
    roll = rng.random()
    paid_share = 0.85 if age > 90 else 0.3
    updated = txn_at
    if roll < paid_share + 0.07:
        paid_at = min(txn_at + timedelta(days=rng.randint(3, 60), hours=rng.randint(0, 8)), now)
        total = Decimal(str(record["TotalAmt"]))
        amount = total if roll < paid_share else (total * Decimal("0.5")).quantize(Decimal("0.01"))
        backend.record_payment(invoice["Id"], amount)
        updated = paid_at
    record["SyncToken"] = "0" if updated == txn_at else "1"
    _times(record, txn_at, updated)
