"""The QuickBooks sandbox's model of late commits (``visibility_delay``) and of CDC's 1,000-object cap per answer."""

from __future__ import annotations

from datetime import UTC, datetime

from sandboxes.quickbooks.models import ManualClock, RealmBackend
from sandboxes.quickbooks.seed import seed_company


def _backend(customers: int = 10, invoices: int = 10) -> tuple[RealmBackend, ManualClock]:
    clock = ManualClock(datetime(2026, 3, 2, 18, 0, tzinfo=UTC))
    backend = RealmBackend("9130357", clock=clock)
    seed_company(backend, customers, invoices, seed=3)
    return backend, clock


def _listed(backend: RealmBackend, entity: str, record_id: str) -> dict | None:
    rows = backend.query(f"SELECT * FROM {entity} WHERE Id = '{record_id}' AND Active IN (true, false)"
                         if entity == "Customer" else f"SELECT * FROM {entity} WHERE Id = '{record_id}'").rows
    return rows[0] if rows else None


def test_a_late_edit_is_listed_as_its_old_version_until_its_delay_has_passed_then_as_the_new_one() -> None:
    backend, clock = _backend()
    customer_id = sorted(backend.customers, key=int)[0]
    before = _listed(backend, "Customer", customer_id)
    backend.visibility_delay = 45
    edited = backend.edit_customer(customer_id, Notes="committed late")
    created = backend.add_customer(DisplayName="Created late")
    backend.visibility_delay = 0
    on_time = backend.edit_customer(sorted(backend.customers, key=int)[1], Notes="visible at once")

    clock.advance(44)
    assert _listed(backend, "Customer", customer_id) == before  # the old version, old stamp
    assert _listed(backend, "Customer", created["Id"]) is None  # not there yet
    assert _listed(backend, "Customer", on_time["Id"])["Notes"] == "visible at once"
    assert backend.query("SELECT COUNT(*) FROM Customer WHERE Active IN (true, false)").count == \
        len(backend.customers) - 1
    changes = backend.cdc(["Customer"], edited["MetaData"]["LastUpdatedTime"])
    assert {r["Id"] for block in changes for r in block.get("Customer", [])} == {on_time["Id"]}

    clock.advance(1)
    late = _listed(backend, "Customer", customer_id)
    assert late["Notes"] == "committed late"
    assert late["MetaData"]["LastUpdatedTime"] == edited["MetaData"]["LastUpdatedTime"]  # stamped when written
    assert _listed(backend, "Customer", created["Id"])["DisplayName"] == "Created late"


def test_cdc_answers_at_most_1000_objects_in_all_not_per_entity() -> None:
    backend, clock = _backend(customers=700, invoices=700)
    since = clock.now().isoformat()
    clock.advance(1)
    for customer_id in sorted(backend.customers, key=int)[:600]:
        backend.edit_customer(customer_id, Notes="bulk")
    for invoice_id in [i for i, v in backend.invoices.items()
                       if backend.customers[v["CustomerRef"]["value"]].get("Active")][:600]:
        backend.edit_invoice(invoice_id, PrivateNote="bulk")
    blocks = backend.cdc(["Customer", "Invoice"], since)
    sizes = {entity: len(rows) for block in blocks for entity, rows in block.items() if isinstance(rows, list)}
    assert sizes["Customer"] >= 600 and sum(sizes.values()) == 1000
    alone = backend.cdc(["Invoice"], since)
    assert len(alone[0]["Invoice"]) >= 600  # asked alone, an entity gets the whole answer
