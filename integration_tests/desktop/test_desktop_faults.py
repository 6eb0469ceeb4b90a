"""Faults on the Desktop path: the Web Connector offline, QuickBooks busy, an answer lost, the bridge restarted,
a destination re-sending what it sent before its STATE, edits racing the queue (3200), names taken (3100)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from integration_tests.desktop.test_desktop_rounds import assert_every_record_once
from mapping.links import project_id_from_notes
from mapping.qbd import desktop_name


def _inbound(sync: Any) -> Any:
    read, write = sync.inbound.sync()
    assert not write.errors, write.errors
    return read, write


def test_offline_busy_lost_answer_and_bridge_restart_lose_nothing_and_write_nothing_twice(
        desktop_sync: Any, bridges: Any) -> None:
    sync = desktop_sync(projects=8)
    connector = sync.desktop.web_connector
    company = sync.desktop.company

    # The Web Connector is offline: the sync queues its writes durably and acknowledges its state.
    connector.faults.offline = 1
    read, write = _inbound(sync)
    assert write.states, "STATE once the writes are queued with their idempotency keys"
    assert not connector.run_session().happened
    assert not any(project_id_from_notes(c.get("Notes")) for c in company.customers.values())

    # A destination killed before its STATE gets the same records again: nothing is queued twice.
    lines = [json.dumps(m) for m in read.messages if m.get("type") in ("RECORD", "STATE")]
    again = sync.inbound.write(lines)
    summary = next(m for m in again.logs() if m.startswith("Write summary:"))
    assert "queued_" not in summary, summary

    # QuickBooks busy: connectionError, nothing sent, nothing lost.
    connector.faults.busy = 1
    busy = connector.run_session()
    assert busy.authenticated and busy.message_sets == 0 and busy.last_error
    assert company.writes() == 0

    # QuickBooks applies the first write message set but its answer never reaches the bridge, and the
    # bridge restarts (a new process on the same database) before the Web Connector runs again.
    connector.faults.lose_response_after = 2
    lost = connector.run_session()
    assert lost.log and not lost.closed
    applied = company.writes()
    assert applied > 0
    bridges.restart(sync.bridge_url)
    reports = connector.run_until_idle()
    assert all(r.happened and not r.last_error for r in reports)
    assert_every_record_once(sync)
    assert company.writes() - applied <= len(sync.coperniq.backend.invoices) + len(sync.coperniq.backend.projects)

    outbound_read, outbound_write = sync.outbound.sync()
    assert not outbound_write.errors
    assert sync.round().writes == (0, 0), "after the faults, a quiet round writes nothing"


def test_an_edit_racing_a_queued_change_is_reread_and_kept_and_a_taken_name_gets_the_suffix(
        desktop_sync: Any) -> None:
    sync = desktop_sync(projects=6)
    backend, company = sync.coperniq.backend, sync.desktop.company
    # Strict name uniqueness: a vendor already holds the first project's title.
    first = backend.projects[sorted(backend.projects)[0]]
    company.add_name("Vendor", desktop_name(first.title, first.id))
    sync.round()
    customer = next(c for c in company.customers.values() if project_id_from_notes(c.get("Notes")) == first.id)
    assert customer["Name"].endswith(f"(Coperniq #{first.id})") and len(customer["Name"]) <= 41

    # Coperniq renames the project; before the Web Connector runs, the bookkeeper edits the phone.
    backend.update_project(first.id, {"title": "Lindqvist Residence"})
    _inbound(sync)
    company.edit_customer(customer["ListID"], Phone="(512) 555-0177")
    edit_sequence = company.customers[customer["ListID"]]["EditSequence"]
    sync.web_connector()
    after = company.customers[customer["ListID"]]
    assert after["Name"] == "Lindqvist Residence", "3200: re-read, recomputed, sent again"
    assert after["Phone"] == "(512) 555-0177", "the bookkeeper's edit is not overwritten"
    assert after["EditSequence"] != edit_sequence
    assert Counter(project_id_from_notes(c.get("Notes")) for c in company.customers.values())[first.id] == 1
