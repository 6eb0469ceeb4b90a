"""Concern 4: bad inputs, one table, each fed to the connector it concerns.

Per-record problems go to a destination between good records: the destination must keep going,
report the bad record in a WARN log that names its id and the reason, and write every good record.
Config problems go to ``check`` (a FAILED status naming the setting) or to ``read`` / ``write`` (a
config_error TRACE naming it).

Every case runs in a process of its own against sandboxes of its own. The cases are independent,
so the module runs them concurrently (one more thread than there are cores) before the first test,
and each test asserts on its own outcome. Cases that take a code path another case already takes
run only with ``--fault-full``.
"""

from __future__ import annotations

import copy
import os
import re
import unicodedata
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from connector_core.runner import configured_catalog, script
from integration_tests.fault_tolerance.conftest import (
    STARTED,
    TRANSCRIPT,
    Run,
    _discover,
    coperniq_config,
    destination_catalog,
    linked_customers,
    linked_invoices,
    quickbooks_config,
    record_line,
    run,
    state_line,
    write_json,
)
from integration_tests.fault_tolerance.options import FULL_MARK, FULL_OPTION
from mapping.links import qbo_invoice_id_from_description, suffixed_display_name
from sandboxes.coperniq import CoperniqSandbox
from sandboxes.coperniq import make_sandbox as make_coperniq
from sandboxes.quickbooks import QuickBooksSandbox
from sandboxes.quickbooks import make_sandbox as make_quickbooks

HUGE = "Solar " * 17_000  # 102,000 characters
UNICODE_TITLE = "Zoë ☀️🔋 Núñez – שלום עליכם مرحبا e\u0301te\u0301 Residence"
BAD_PROJECT_ID = 990_001
BAD_INVOICE_ID = 880_001
BAD_CUSTOMER_ID = "99001"
BAD_QBO_INVOICE_ID = "99101"


# -- the good records every per-record case is fed alongside the bad one ---------------------------------


@dataclass
class Kit:
    """Two sandboxes, the good records for one destination, and how to tell that they all landed."""

    coperniq: CoperniqSandbox
    quickbooks: QuickBooksSandbox
    good: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (stream, data)
    extra_project: dict[str, Any] = field(default_factory=dict)  # a project no good record touches

    def first(self, stream: str) -> dict[str, Any]:
        return copy.deepcopy(next(data for s, data in self.good if s == stream))

    def lost(self) -> list[str]:
        """The good records that did not land."""
        lost = []
        if any(s == "projects" for s, _ in self.good):  # fed to destination-quickbooks
            customers, invoices = linked_customers(self.quickbooks), linked_invoices(self.quickbooks)
            for stream, data in self.good:
                counts = customers if stream == "projects" else invoices
                if counts.get(data["id"], 0) != 1:
                    lost.append(f"{stream} {data['id']} landed {counts.get(data['id'], 0)} times")
            return lost
        copies: dict[str, int] = {}
        for invoice in list(self.coperniq.backend.invoices.values()):
            qbo_id = qbo_invoice_id_from_description(invoice.description)
            if qbo_id is not None:
                copies[str(qbo_id)] = copies.get(str(qbo_id), 0) + 1
        for stream, data in self.good:
            if stream == "customers":
                project_id = int(data["Notes"].rsplit("#", 1)[1])
                title = self.coperniq.backend.get_project(project_id, include_archived=True)["title"]
                if title != data["DisplayName"]:
                    lost.append(f"customer {data['Id']}: project {project_id} still titled {title!r}")
            elif copies.get(data["Id"], 0) != 1:
                lost.append(f"invoice {data['Id']} landed {copies.get(data['Id'], 0)} times")
        return lost


def quickbooks_kit() -> Kit:
    """Coperniq projects and invoices for destination-quickbooks."""
    coperniq = make_coperniq(projects=14, seed=21, daily_quota=None).start()
    quickbooks = make_quickbooks(customers=3, invoices=3, seed=21, throttle=False).start()
    backend = coperniq.backend
    projects = sorted(backend.projects)[:5]
    kit = Kit(coperniq, quickbooks)
    kit.good = [("projects", backend.project_json(backend.projects[p])) for p in projects]
    invoices = sorted(i.id for i in backend.invoices.values() if i.record_id in projects)[:3]
    kit.good += [("invoices", backend.invoice_json(backend.invoices[i])) for i in invoices]
    kit.extra_project = backend.project_json(backend.projects[sorted(backend.projects)[6]])
    return kit


def coperniq_kit() -> Kit:
    """QuickBooks customers (linked to Coperniq projects) and invoices for destination-coperniq."""
    coperniq = make_coperniq(projects=14, seed=22, daily_quota=None).start()
    quickbooks = make_quickbooks(customers=0, invoices=0, seed=22, throttle=False).start()
    kit = Kit(coperniq, quickbooks)
    projects = sorted(coperniq.backend.projects)
    for n, project_id in enumerate(projects[:4]):
        customer = quickbooks.backend.add_customer(
            DisplayName=f"Good Customer {project_id}", GivenName="Ada", FamilyName=f"Good{project_id}",
            PrimaryEmailAddr={"Address": f"good{project_id}@example.com"},
            BillAddr={"Line1": f"{200 + n} Congress Ave", "City": "Austin", "CountrySubDivisionCode": "TX",
                      "PostalCode": "78701", "Country": "US"},
            Notes=f"Coperniq project #{project_id}")
        kit.good.append(("customers", customer))
    for project_id in projects[4:7]:
        title = coperniq.backend.projects[project_id].title
        owner = quickbooks.backend.add_customer(DisplayName=suffixed_display_name(title, project_id),
                                                Notes=f"Coperniq project #{project_id}")
        invoice = quickbooks.backend.add_invoice(owner["Id"], [("1", 2, 640.0)], DueDate="2031-05-01")
        kit.good.append(("invoices", invoice))
    kit.extra_project = {"id": projects[8], "title": coperniq.backend.projects[projects[8]].title}
    return kit


# -- the table -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordCase:
    """A bad record for ``destination``: the WARN must name ``names`` (if any) and match ``reason``."""

    destination: str
    stream: str
    build: Callable[[Kit], Any]
    names: str | None
    reason: str
    landed: Callable[[Kit], str | None] | None = None  # an extra check; returns a problem or None
    misleading: str | None = None  # the WARN must not say this (e.g. blame an API that never saw the record)


@dataclass(frozen=True)
class ConfigCase:
    """A bad config for ``connector``: ``verb`` must fail with a message matching ``message``."""

    connector: str
    verb: str  # check | read | write
    change: dict[str, Any]
    message: str
    catalog_streams: tuple[str, ...] = ()  # read/write: extra (unknown) streams in the configured catalog


def project(kit: Kit, **changes: Any) -> dict[str, Any]:
    data = {**copy.deepcopy(kit.extra_project), "id": BAD_PROJECT_ID, **changes}
    return {k: v for k, v in data.items() if v is not DROP}


def invoice(kit: Kit, **changes: Any) -> dict[str, Any]:
    data = {**kit.first("invoices"), "id": BAD_INVOICE_ID, "uid": 77001, **changes}
    return {k: v for k, v in data.items() if v is not DROP}


def customer(kit: Kit, **changes: Any) -> dict[str, Any]:
    base = kit.first("customers")
    data = {**base, "Id": BAD_CUSTOMER_ID, "Notes": f"Coperniq project #{kit.extra_project['id']}",
            "PrimaryEmailAddr": {"Address": "bad.customer@example.com"}, **changes}
    return {k: v for k, v in data.items() if v is not DROP}


def qbo_invoice(kit: Kit, **changes: Any) -> dict[str, Any]:
    data = {**kit.first("invoices"), "Id": BAD_QBO_INVOICE_ID, "DocNumber": "BAD-1", **changes}
    return {k: v for k, v in data.items() if v is not DROP}


DROP = object()  # a field to leave out


def customer_named(title: str) -> Callable[[Kit], str | None]:
    """The bad-but-valid project lands as one QuickBooks customer with this DisplayName (or its NFC form)."""
    def check(kit: Kit) -> str | None:
        names = [c["DisplayName"] for c in kit.quickbooks.backend.customers.values()
                 if f"Coperniq project #{BAD_PROJECT_ID}" in (c.get("Notes") or "")]
        if len(names) != 1 or names[0] not in (title, unicodedata.normalize("NFC", title)):
            return f"expected one customer named {title[:60]!r}, got {[n[:60] for n in names]}"
        return None
    return check


def project_titled(title: str) -> Callable[[Kit], str | None]:
    """The bad-but-valid customer's project ends up titled exactly ``title``."""
    def check(kit: Kit) -> str | None:
        got = kit.coperniq.backend.get_project(kit.extra_project["id"], include_archived=True)["title"]
        if got in (title, unicodedata.normalize("NFC", title)):
            return None
        return f"project titled {got[:60]!r}, expected {title[:60]!r}"
    return check


DQ, DC = "destination-quickbooks", "destination-coperniq"
AMOUNT = r"amount|money|total"
DUE = r"due ?date"

RECORD_CASES = {
    # destination-quickbooks: Coperniq records
    "dq-project-not-an-object": RecordCase(DQ, "projects", lambda k: "Hernandez Residence", None, r"object"),
    "dq-project-missing-id": RecordCase(DQ, "projects", lambda k: project(k, id=DROP), None, r"\bid\b"),
    "dq-project-id-as-string": RecordCase(DQ, "projects", lambda k: project(k, id=str(BAD_PROJECT_ID)),
                                          str(BAD_PROJECT_ID), r"\bid\b"),
    "dq-project-address-as-number": RecordCase(DQ, "projects", lambda k: project(k, address=12345),
                                               str(BAD_PROJECT_ID), r"address"),
    "dq-project-title-missing": RecordCase(DQ, "projects", lambda k: project(k, title=DROP), None, "",
                                           landed=customer_named(f"Coperniq project #{BAD_PROJECT_ID}")),
    "dq-project-title-100kb": RecordCase(DQ, "projects", lambda k: project(k, title=HUGE), str(BAD_PROJECT_ID),
                                         r"title|DisplayName|too long|truncat"),
    "dq-project-title-unicode": RecordCase(DQ, "projects", lambda k: project(k, title=UNICODE_TITLE), None, "",
                                           landed=customer_named(UNICODE_TITLE)),
    "dq-contact-emails-not-a-list": RecordCase(
        DQ, "contacts", lambda k: {"id": 770_001, "name": "Ada Obi", "emails": 5,
                                   "projects": [{"id": k.extra_project["id"], "title": k.extra_project["title"]}]},
        "770001", r"emails"),
    "dq-invoice-amount-as-text": RecordCase(DQ, "invoices", lambda k: invoice(k, amount="twelve hundred"),
                                            str(BAD_INVOICE_ID), AMOUNT, misleading=r"QuickBooks rejected"),
    "dq-invoice-amount-missing": RecordCase(DQ, "invoices", lambda k: invoice(k, amount=DROP),
                                            str(BAD_INVOICE_ID), AMOUNT),
    "dq-invoice-amount-negative": RecordCase(DQ, "invoices", lambda k: invoice(k, amount=-250.0),
                                             str(BAD_INVOICE_ID), AMOUNT),
    "dq-invoice-amount-1e15": RecordCase(DQ, "invoices", lambda k: invoice(k, amount=1e15),
                                         str(BAD_INVOICE_ID), AMOUNT),
    "dq-invoice-due-date-day-first": RecordCase(DQ, "invoices", lambda k: invoice(k, dueDate="31/12/2024"),
                                                str(BAD_INVOICE_ID), DUE),
    "dq-invoice-due-date-feb-30": RecordCase(DQ, "invoices", lambda k: invoice(k, dueDate="2024-02-30"),
                                             str(BAD_INVOICE_ID), DUE),
    "dq-invoice-without-project": RecordCase(DQ, "invoices", lambda k: invoice(k, record=None),
                                             str(BAD_INVOICE_ID), r"project"),
    "dq-invoice-quantity-as-text": RecordCase(
        DQ, "invoices", lambda k: invoice(k, lineItems=[{"quantity": "two", "unitPrice": 100, "description": "x"}]),
        str(BAD_INVOICE_ID), r"quantity"),
    "dq-record-of-unknown-stream": RecordCase(DQ, "deals", lambda k: {"id": 5, "name": "Big deal"}, None, r"deals"),
    # destination-coperniq: QuickBooks records
    "dc-customer-not-an-object": RecordCase(DC, "customers", lambda k: ["Id", "7"], None, r"object"),
    "dc-customer-missing-Id": RecordCase(DC, "customers", lambda k: customer(k, Id=DROP), None, r"\bId\b"),
    "dc-customer-Id-as-list": RecordCase(DC, "customers", lambda k: customer(k, Id=[BAD_CUSTOMER_ID]),
                                         BAD_CUSTOMER_ID, r"\bId\b"),
    "dc-customer-billaddr-as-number": RecordCase(DC, "customers", lambda k: customer(k, BillAddr=78701),
                                                 BAD_CUSTOMER_ID, r"BillAddr|address"),
    "dc-customer-displayname-100kb": RecordCase(DC, "customers", lambda k: customer(k, DisplayName=HUGE),
                                                BAD_CUSTOMER_ID, r"title|DisplayName|too long|truncat"),
    "dc-customer-displayname-unicode": RecordCase(DC, "customers", lambda k: customer(k, DisplayName=UNICODE_TITLE),
                                                  None, "", landed=project_titled(UNICODE_TITLE)),
    "dc-invoice-totalamt-as-text": RecordCase(DC, "invoices", lambda k: qbo_invoice(k, TotalAmt="lots"),
                                              BAD_QBO_INVOICE_ID, AMOUNT),
    "dc-invoice-totalamt-missing": RecordCase(DC, "invoices", lambda k: qbo_invoice(k, TotalAmt=DROP),
                                              BAD_QBO_INVOICE_ID, AMOUNT),
    "dc-invoice-totalamt-negative": RecordCase(DC, "invoices", lambda k: qbo_invoice(k, TotalAmt=-99.5, Balance=0),
                                               BAD_QBO_INVOICE_ID, AMOUNT),
    "dc-invoice-totalamt-1e15": RecordCase(DC, "invoices", lambda k: qbo_invoice(k, TotalAmt=1e15, Balance=1e15),
                                           BAD_QBO_INVOICE_ID, AMOUNT),
    "dc-invoice-duedate-day-first": RecordCase(DC, "invoices", lambda k: qbo_invoice(k, DueDate="31/12/2024"),
                                               BAD_QBO_INVOICE_ID, DUE),
    "dc-invoice-duedate-feb-30": RecordCase(DC, "invoices", lambda k: qbo_invoice(k, DueDate="2024-02-30"),
                                            BAD_QBO_INVOICE_ID, DUE),
    "dc-invoice-without-customer": RecordCase(DC, "invoices", lambda k: qbo_invoice(k, CustomerRef=DROP),
                                              BAD_QBO_INVOICE_ID, r"customer"),
    "dc-record-of-unknown-stream": RecordCase(DC, "vendors", lambda k: {"Id": "3", "DisplayName": "Acme"}, None,
                                              r"vendors"),
}

SC, SQ = "source-coperniq", "source-quickbooks"
CONFIG_CASES = {
    "sc-base-url-not-a-url": ConfigCase(SC, "check", {"base_url": "api.coperniq.io/v1"}, r"base_url"),
    "sc-base-url-plain-http": ConfigCase(SC, "check", {"base_url": "http://api.coperniq.example/v1"}, r"https"),
    "sc-start-date-impossible": ConfigCase(SC, "check", {"start_date": "2024-13-45"}, r"start_date"),
    "sc-start-date-day-first": ConfigCase(SC, "check", {"start_date": "31/12/2024"}, r"start_date"),
    "sc-unknown-stream-in-catalog": ConfigCase(SC, "read", {}, r"deals", catalog_streams=("deals",)),
    "sq-unknown-stream-in-catalog": ConfigCase(SQ, "read", {}, r"deals", catalog_streams=("deals",)),
    "sq-start-date-feb-30": ConfigCase(SQ, "check", {"start_date": "2024-02-30"}, r"start_date"),
    "sq-base-url-ftp": ConfigCase(SQ, "check", {"base_url": "ftp://quickbooks.example.com"}, r"base_url"),
    "sq-realm-id-empty": ConfigCase(SQ, "check", {"realm_id": " "}, r"realm_id"),
    "dq-base-url-plain-http": ConfigCase(DQ, "check", {"base_url": "http://quickbooks.example.com"}, r"https"),
    "dq-unknown-description-target": ConfigCase(DQ, "check", {"invoice_description_target": "Footer"},
                                                r"invoice_description_target|'Footer'"),
    "dq-currency-lowercase": ConfigCase(DQ, "check", {"currency": "usd"}, r"currency|'usd'"),
    "dq-unknown-on-record-error-in-write": ConfigCase(DQ, "write", {"on_record_error": "explode"},
                                                      r"on_record_error|'explode'"),
    "dc-unknown-unlinked-customers": ConfigCase(DC, "check", {"unlinked_customers": "delete"},
                                                r"unlinked_customers|'delete'"),
    "dc-unknown-project-status": ConfigCase(DC, "check", {"matched_project_status": "PAUSED"},
                                            r"matched_project_status|'PAUSED'"),
    "dc-negative-min-remaining-quota": ConfigCase(DC, "check", {"min_remaining_quota": -5},
                                                  r"min_remaining_quota|-5"),
    "dc-negative-min-remaining-quota-in-write": ConfigCase(DC, "write", {"min_remaining_quota": -5},
                                                           r"min_remaining_quota|-5"),
    "dc-base-url-not-a-url": ConfigCase(DC, "check", {"base_url": "coperniq"}, r"base_url"),
}

# Cases whose code path a fast case already takes: only in the full run.
FULL_ONLY = {
    "dq-invoice-due-date-feb-30", "dc-invoice-duedate-feb-30", "dc-customer-Id-as-list", "dq-invoice-without-project",
    "dc-invoice-without-customer", "dc-record-of-unknown-stream", "sq-unknown-stream-in-catalog", "sq-base-url-ftp",
    "sq-realm-id-empty", "sc-base-url-not-a-url", "dq-currency-lowercase", "dc-unknown-project-status",
    "dc-negative-min-remaining-quota-in-write",
}


def table(cases: dict[str, Any]) -> list[Any]:
    return [pytest.param(name, id=name, marks=[pytest.mark.fault_full] if name in FULL_ONLY else [])
            for name in cases]


# -- running the table ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    run: Run
    kit: Kit | None = None
    coperniq: CoperniqSandbox | None = None
    quickbooks: QuickBooksSandbox | None = None
    error: BaseException | None = None


def run_record_case(name: str, workdir: Path) -> Outcome:
    case = RECORD_CASES[name]
    kit = quickbooks_kit() if case.destination == DQ else coperniq_kit()
    streams = ("projects", "contacts", "invoices") if case.destination == DQ else ("customers", "invoices")
    key = "id" if case.destination == DQ else "Id"
    config = quickbooks_config(kit.quickbooks) if case.destination == DQ else coperniq_config(kit.coperniq)
    lines = [record_line(stream, data) for stream, data in kit.good[:2]]
    lines.append(record_line(case.stream, case.build(kit)))
    lines += [record_line(stream, data) for stream, data in kit.good[2:]]
    lines += [state_line(stream, {"n": 1}) for stream in streams]
    catalog = destination_catalog(streams, key)
    outcome = Outcome(Run(-1, [], ""), kit=kit)
    try:
        outcome.run = run([script(case.destination), "write", "--config", write_json(workdir, "config.json", config),
                           "--catalog", write_json(workdir, "catalog.json", catalog)], config=config,
                          stdin_lines=lines)
    except BaseException as error:  # reported by the case's own test; the kit is stopped with the others
        outcome.error = error
    return outcome


def run_config_case(name: str, workdir: Path) -> Outcome:
    case = CONFIG_CASES[name]
    coperniq = make_coperniq(projects=8, seed=23, daily_quota=None).start()
    quickbooks = make_quickbooks(customers=3, invoices=3, seed=23, throttle=False).start()
    outcome = Outcome(Run(0, [], ""), coperniq=coperniq, quickbooks=quickbooks)
    good = coperniq_config(coperniq) if "coperniq" in case.connector else quickbooks_config(quickbooks)
    config = {**good, **case.change}
    args = [script(case.connector), case.verb, "--config", write_json(workdir, "config.json", config)]
    lines = None
    if case.verb == "read":
        catalog = configured_catalog(_discover(case.connector, good), True, ("projects",) if "coperniq" in
                                     case.connector else ("customers",))
        for extra in case.catalog_streams:
            catalog["streams"].append({"stream": {"name": extra, "json_schema": {"type": "object"},
                                                  "supported_sync_modes": ["full_refresh"]},
                                       "sync_mode": "full_refresh", "destination_sync_mode": "append"})
        args += ["--catalog", write_json(workdir, "catalog.json", catalog)]
    if case.verb == "write":
        streams = ("projects",) if case.connector == DQ else ("customers",)
        args += ["--catalog", write_json(workdir, "catalog.json",
                                         destination_catalog(streams, "id" if case.connector == DQ else "Id"))]
        lines = [state_line(streams[0], {"n": 0})]
    try:
        outcome.run = run(args, config=config, stdin_lines=lines)
    except BaseException as error:  # reported by the case's own test
        outcome.error = error
    return outcome


def selected(request: pytest.FixtureRequest, argname: str) -> list[str]:
    """The cases of this module that will run (the full-only ones only with --fault-full)."""
    full = request.config.getoption(FULL_OPTION, default=False)
    names = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if item.module is not request.module or callspec is None or argname not in callspec.params:
            continue
        if full or item.get_closest_marker(FULL_MARK) is None:
            names.append(callspec.params[argname])
    return names


@pytest.fixture(scope="module")
def outcomes(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Outcome]]:
    jobs: list[tuple[str, Callable[[str, Path], Outcome]]] = []
    jobs += [(name, run_record_case) for name in dict.fromkeys(selected(request, "record_case"))]
    jobs += [(name, run_config_case) for name in dict.fromkeys(selected(request, "config_case"))]
    workdirs = {name: tmp_path_factory.mktemp(name) for name, _ in jobs}  # here: mktemp is not thread-safe

    def attempt(job: tuple[str, Callable[[str, Path], Outcome]]) -> tuple[str, Outcome]:
        name, runner = job
        try:
            return name, runner(name, workdirs[name])
        except BaseException as error:  # setting the case up failed: reported by the case's own test
            return name, Outcome(Run(-1, [], ""), error=error)

    with ThreadPoolExecutor(max_workers=(os.cpu_count() or 2) + 1) as pool:
        results = dict(pool.map(attempt, jobs))
    yield results
    for outcome in results.values():
        for sandbox in sandboxes_of(outcome):
            sandbox.stop()


def sandboxes_of(outcome: Outcome) -> list[CoperniqSandbox | QuickBooksSandbox]:
    found = [outcome.coperniq, outcome.quickbooks]
    if outcome.kit is not None:
        found += [outcome.kit.coperniq, outcome.kit.quickbooks]
    return [sandbox for sandbox in found if sandbox is not None]


def adopt(outcome: Outcome) -> None:
    """Hand the case's run and sandboxes to this test's secret scan."""
    for sandbox in sandboxes_of(outcome):
        (STARTED.coperniq if isinstance(sandbox, CoperniqSandbox) else STARTED.quickbooks).append(sandbox)
    TRANSCRIPT.append(outcome.run)
    if outcome.error is not None:
        raise outcome.error


# -- the tests -----------------------------------------------------------------------------------------


def test_the_table_has_at_least_20_bad_inputs() -> None:
    assert len(RECORD_CASES) + len(CONFIG_CASES) >= 20


@pytest.mark.parametrize("record_case", table(RECORD_CASES))
def test_a_bad_record_is_reported_by_id_and_reason_and_no_other_record_is_lost(
        record_case: str, outcomes: dict[str, Outcome]) -> None:
    case = RECORD_CASES[record_case]
    outcome = outcomes[record_case]
    adopt(outcome)
    result, kit = outcome.run, outcome.kit
    assert kit is not None
    assert result.returncode == 0 and not result.errors, f"one bad record stopped the sync: {result.describe()}"
    assert len(result.states) == len({s["stream"]["stream_descriptor"]["name"] for s in result.states}) > 0, \
        f"the states after the bad record were not acknowledged: {result.describe()}"
    lost = kit.lost()
    assert not lost, f"good records lost beside the bad one: {lost}; {result.describe()}"
    if case.landed is not None:
        problem = case.landed(kit)
        assert problem is None, problem
    if case.reason:
        warnings = result.logs("WARN")
        named = [w for w in warnings if case.names is None or re.search(rf"\b{re.escape(case.names)}\b", w)]
        assert any(re.search(case.reason, w, re.I) for w in named), (
            f"no WARN names record {case.names} with a reason matching /{case.reason}/; "
            f"WARN logs: {[w[:300] for w in warnings]}; other logs: {[m[:300] for m in result.logs()][-6:]}")
        if case.misleading:
            wrong = [w for w in named if re.search(case.misleading, w)]
            assert not wrong, f"the WARN misstates the cause (/{case.misleading}/): {wrong}"


@pytest.mark.parametrize("config_case", table(CONFIG_CASES))
def test_a_bad_config_fails_with_a_message_naming_the_setting(config_case: str,
                                                              outcomes: dict[str, Outcome]) -> None:
    case = CONFIG_CASES[config_case]
    outcome = outcomes[config_case]
    adopt(outcome)
    result = outcome.run
    if case.verb == "check":
        statuses = result.of_type("CONNECTION_STATUS")
        assert statuses, f"check printed no CONNECTION_STATUS: {result.describe()}"
        status = statuses[0]["connectionStatus"]
        assert status["status"] == "FAILED", f"check accepted {case.change}"
        assert re.search(case.message, status.get("message") or ""), status.get("message")
        assert "Traceback" not in (status.get("message") or "")
        return
    if case.catalog_streams:  # an unknown stream: a clear error or warning naming it; the known ones still read
        said = [e["message"] for e in result.errors] + result.logs("WARN") + result.logs("ERROR")
        assert any(re.search(case.message, m) for m in said), f"nothing names the unknown stream: {result.describe()}"
        known = "projects" if case.connector == SC else "customers"
        assert result.records_of(known), f"the known stream was not read: {result.describe()}"
        return
    assert result.returncode != 0, f"{case.verb} accepted {case.change}: {result.describe()}"
    errors = [e for e in result.errors if e.get("failure_type") == "config_error"]
    assert errors, f"no config_error TRACE: {result.describe()}"
    assert re.search(case.message, errors[0]["message"]), errors[0]["message"]
