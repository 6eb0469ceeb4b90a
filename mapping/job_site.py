"""The job site: a Coperniq project's address is where the work is done, and where sales tax is due.

QuickBooks' automated sales tax computes a sale's tax from its ship-to address (the bill-to address
only when there is none). A contractor's sale is taxed where the job is, so the project's address goes
to ``ShipAddr`` of the customer and of each new invoice, as well as seeding ``BillAddr`` (the seed's
row). A bookkeeper may then point ``BillAddr`` at the owner's office without moving the job site or
the tax, and without the next sync undoing it (``billing_follows_job_site``). Coming back, the
project's address follows the customer's ``ShipAddr`` (``job_site_address``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mapping.addresses import same_address


def billing_follows_job_site(current: Mapping[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """The customer fields to compare, with ``BillAddr`` left out while the job site has not moved.

    The project's address is the job site: it goes to ShipAddr (what QuickBooks' automated sales tax
    uses) and seeds BillAddr. While the customer's ShipAddr is still the project's address, the job site
    did not change in Coperniq, so a billing address the bookkeeper typed (the owner's office, a PO box)
    stays. When the project moves, both follow. A customer without ShipAddr (linked before this rule)
    compares BillAddr as before.
    """
    if "ShipAddr" in desired and "BillAddr" in desired and current.get("ShipAddr") and same_address(
            current.get("ShipAddr"), desired["ShipAddr"]):
        return {key: value for key, value in desired.items() if key != "BillAddr"}
    return desired


def job_site_key(customer: Mapping[str, Any]) -> str:
    """Which address of a customer is its project's job site: ``ShipAddr``, else ``BillAddr`` (customers
    made before the job-site rule, or by hand without a ship-to address)."""
    ship = customer.get("ShipAddr")
    if isinstance(ship, Mapping) and any(v for k, v in ship.items() if k not in ("Id", "Lat", "Long")):
        return "ShipAddr"
    return "BillAddr"
