"""Seeded company data: customers (some inactive), vendors, employees, other names, invoices, one item, Net 30."""

from __future__ import annotations

import random

from sandboxes.quickbooks_desktop.models import CompanyFile

FIRST = ["Ava", "Liam", "Mia", "Noah", "Zoe", "Ethan", "Ivy", "Lucas", "Nora", "Owen", "Ruth", "Caleb"]
LAST = ["Garcia", "Nguyen", "Okafor", "Schmidt", "Patel", "Rossi", "Kowalski", "Haddad", "Lindqvist", "Moreau"]
STREETS = ["Oak St", "Congress Ave", "Lamar Blvd", "Riverside Dr", "Guadalupe St", "Barton Springs Rd"]
ITEM = "Services"


def seed_company(company: CompanyFile, customers: int = 10, invoices: int = 12, seed: int = 42) -> CompanyFile:
    rng = random.Random(seed)
    company.add_item(ITEM, "0.00")
    company.add_terms("Net 30", 30)
    company.add_name("Vendor", "Austin Solar Supply")
    company.add_name("Employee", "Dana Whitfield")
    company.add_name("OtherName", "Petty Cash")
    created = []
    for n in range(customers):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        record = company.add_customer({
            "Name": f"{first} {last} {n + 1}", "FirstName": first, "LastName": last,
            "BillAddress": {"Addr1": f"{rng.randint(100, 9999)} {rng.choice(STREETS)}", "City": "Austin",
                            "State": "TX", "PostalCode": f"787{rng.randint(0, 49):02d}"},
            "Phone": f"(512) 555-{rng.randint(0, 9999):04d}", "Email": f"{first.lower()}.{last.lower()}{n}@example.com",
            "IsActive": "false" if n % 7 == 6 else "true"})
        created.append(record)
    for n in range(invoices):
        customer = created[n % len(created)] if created else None
        if customer is None:
            break
        amount = rng.randint(500, 25_000)
        company.add_invoice({
            "CustomerRef": {"ListID": customer["ListID"]}, "RefNumber": f"D{1000 + n}",
            "DueDate": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "Memo": f"Installation milestone {n + 1}",
            "InvoiceLineAdd": [{"ItemRef": {"FullName": ITEM}, "Desc": "Installation", "Amount": f"{amount}.00"}]})
    return company
