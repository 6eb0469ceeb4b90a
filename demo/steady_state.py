"""The steady state of the two-way sync: scheduler rounds, people editing both systems in between, and checks.

- :class:`People` draws what people do between two syncs (seeded): in Coperniq a project renamed (at
  times to a title another project has), its address changed, its stage moved to the invoice stage,
  its contact's email, phone or name changed, a new project, a new invoice; in QuickBooks a customer's
  notes (an on-hold line), address or phone edited, a customer made inactive and later reactivated, an
  invoice created (also on customers whose title another project shares), edited or paid. Each edit
  keeps a check that it is still there (crossed, not undone).
- :func:`disagreements` compares the two systems pair by pair, field by field, in the mapping's own
  terms: ``customer_changes(customer, customer_fields(project, primary_contact))`` must be empty, and so
  must ``project_changes`` / ``contact_changes`` the other way, ``invoice_changes`` for every invoice born
  in Coperniq and ``coperniq_invoice_changes`` for every invoice born in QuickBooks. An empty change is
  the mapping's definition of "these agree", so nothing here re-implements a rule.
- :class:`SteadyState` runs the rounds (state and CONTROL-updated configs carried from round to round
  by :class:`demo.flows.TwoWaySync`) and returns what failed, round by round.

Used by ``integration_tests/test_steady_state.py``, ``benchmarks/steady.py`` and ``make demo``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from demo.flows import Round, TwoWaySync
from mapping.coperniq_to_qbo import customer_changes, customer_fields, invoice_changes, invoice_fields, primary_contact
from mapping.coperniq_to_qbo import record_problem as inbound_problem
from mapping.links import (
    invoice_id_from_note,
    is_inactive,
    own_display_name,
    project_id_from_display_name,
    project_id_from_notes,
    qbo_invoice_id_from_description,
)
from mapping.qbo_to_coperniq import (
    contact_changes,
    coperniq_invoice_changes,
    coperniq_invoice_fields,
    invoice_status,
    project_changes,
)
from mapping.qbo_to_coperniq import record_problem as outbound_problem
from mapping.terms import Term, terms_from_rows

INVOICE_STAGE = "GLASS ON ROOF"
ITEM_NAME = "Services"  # destination-quickbooks' default item for invoice lines
CURRENCY = "USD"
# An invoice keeps the billing address it was issued with: a later change of the customer's address
# is not a reason to rewrite invoices already sent, so BillAddr is compared only when an invoice is written.
ISSUED_INVOICE_FIELDS_KEPT = ("BillAddr",)

STREETS = ("Oak Hollow Dr", "E Cesar Chavez St", "Barton Springs Rd", "N Lamar Blvd", "Maple Ave", "W 38th St",
           "Sunset Ridge Ct", "Pecan St", "Canyon View Rd", "Elm Creek Ln")
CITIES = (("Austin", "TX", "78704"), ("Round Rock", "TX", "78664"), ("Phoenix", "AZ", "85004"),
          ("Denver", "CO", "80205"), ("San Jose", "CA", "95112"), ("Tampa", "FL", "33602"))
GIVEN = ("Ana", "Ben", "Chloe", "Dmitri", "Esther", "Farid", "Grace", "Hiro", "Imani", "Jonas")
FAMILY = ("Okafor", "Lindqvist", "Moreau", "Tanaka", "Castillo", "Brennan", "Haddad", "Novak", "Quinn", "Ruiz")


# -- the two systems, as the checks see them ---------------------------------------------------------


@dataclass
class Snapshot:
    """Both systems' records in their APIs' shapes, read straight from the sandboxes' backends."""

    projects: dict[int, dict[str, Any]]  # every project, archived ones too
    contacts: list[dict[str, Any]]
    coperniq_invoices: list[dict[str, Any]]
    customers: dict[str, dict[str, Any]]
    qbo_invoices: dict[str, dict[str, Any]]
    item_ref: dict[str, str]
    term_rows: list[dict[str, Any]] = field(default_factory=list)  # the company's Term list
    custom_txn_numbers: bool = True  # the company's SalesFormsPrefs.CustomTxnNumbers
    _contacts_by_project: dict[int, list[dict[str, Any]]] | None = None

    @classmethod
    def of(cls, sync: TwoWaySync) -> Snapshot:
        coperniq, qbo = sync.coperniq.backend, sync.quickbooks.backend
        with coperniq.lock:
            projects = {p.id: coperniq.project_json(p) for p in coperniq.projects.values()}
            contacts = [coperniq.contact_json(c) for c in coperniq.contacts.values()]
            invoices = [coperniq.invoice_json(i) for i in coperniq.invoices.values()]
        with qbo.lock:
            customers = {k: dict(v) for k, v in qbo.customers.items()}
            qbo_invoices = {k: dict(v) for k, v in qbo.invoices.items()}
            item = next(i for i in qbo.items.values() if i["Name"] == ITEM_NAME)
            term_rows = [dict(t) for t in qbo.terms.values()]
        return cls(projects, contacts, invoices, customers, qbo_invoices, {"value": item["Id"], "name": item["Name"]},
                   term_rows, bool(qbo.custom_txn_numbers))

    @property
    def terms(self) -> tuple[Term, ...]:
        """The terms destination-quickbooks chooses from (read once per run, as it reads them)."""
        return terms_from_rows(self.term_rows)

    def contact_of(self, project: dict[str, Any]) -> dict[str, Any] | None:
        """The project's primary contact, by the mapping's rule, among the contacts linked to it."""
        if self._contacts_by_project is None:
            self._contacts_by_project = {}
            for contact in self.contacts:
                for linked in contact.get("projects") or []:
                    self._contacts_by_project.setdefault(linked.get("id"), []).append(contact)
        return primary_contact(project, self._contacts_by_project.get(project.get("id"), []))

    def active_projects(self) -> dict[int, dict[str, Any]]:
        return {i: p for i, p in self.projects.items() if p.get("isActive", True)}

    def customers_of(self) -> dict[int, list[dict[str, Any]]]:
        """Linked customers by project id (the link the connectors keep: Notes marker, else DisplayName suffix)."""
        linked: dict[int, list[dict[str, Any]]] = {}
        for customer in self.customers.values():
            project_id = project_id_from_notes(customer.get("Notes")) or \
                project_id_from_display_name(customer.get("DisplayName"))
            if project_id is not None:
                linked.setdefault(project_id, []).append(customer)
        return linked

    def own_name(self, customer: dict[str, Any]) -> dict[str, Any]:
        """The customer as its own: QuickBooks shows an inactive customer's name with `` (deleted)``."""
        return {**customer, "DisplayName": own_display_name(customer)} if is_inactive(customer) else customer

    def stage_of(self, project: dict[str, Any]) -> str | None:
        return (project.get("stage") or project.get("phase") or {}).get("name")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 90 else text[:87] + "..."


def _field_problems(where: str, changes: dict[str, Any], theirs: dict[str, Any], what: str, tag: str = "") -> list[str]:
    return [f"{where}: {key} differs ({what} wants {_show(value)}, has {_show(theirs.get(key))}){tag}"
            for key, value in sorted(changes.items())]


def disagreements(snapshot: Snapshot, invoice_stages: tuple[str, ...] = (INVOICE_STAGE,),
                  only: set[int] | None = None) -> list[str]:
    """Every way the two systems disagree, one line each; [] when every linked pair agrees field by field.

    ``only``: the projects to compare (with their customers and invoices), else all. The tags
    ``[item N]`` name the item of issue 10 whose rule the line breaks.
    """
    problems: list[str] = []
    stages = {s.casefold() for s in invoice_stages}
    active = {i: p for i, p in snapshot.active_projects().items() if only is None or i in only}
    linked = snapshot.customers_of()
    pairs: dict[int, dict[str, Any]] = {}
    for project_id, project in sorted(active.items()):
        customers = linked.get(project_id, [])
        if "(deleted)" in (project.get("title") or ""):
            problems.append(f"project {project_id}: title {project['title']!r} carries QuickBooks' inactive "
                            "suffix [item 6]")
        if not customers:
            problems.append(f"project {project_id} ({project.get('title')!r}) has no QuickBooks customer")
            continue
        if len(customers) > 1:
            problems.append(f"project {project_id} has {len(customers)} customers: "
                            f"{sorted(c['Id'] for c in customers)}")
        pairs[project_id] = customer = customers[0]
        own = snapshot.own_name(customer)
        where = f"project {project_id} / customer {customer['Id']}"
        contact = snapshot.contact_of(project)
        tag = " [item 6]" if is_inactive(customer) else ""  # an inactive customer's name
        problems += _field_problems(where, customer_changes(own, customer_fields(project, contact, CURRENCY)), own,
                                    "Coperniq", tag)
        problems += _field_problems(where, project_changes(own, project, project_id), project, "QuickBooks", tag)
        if contact is not None:
            problems += _field_problems(f"{where} / contact {contact['id']}", contact_changes(own, contact),
                                        contact, "QuickBooks")
    problems += _invoices_born_in_coperniq(snapshot, active, pairs, stages)
    problems += _invoices_born_in_quickbooks(snapshot, active)
    return problems


def _invoices_born_in_coperniq(snapshot: Snapshot, active: dict[int, dict[str, Any]],
                               pairs: dict[int, dict[str, Any]], stages: set[str]) -> list[str]:
    problems = []
    copies: dict[int, list[dict[str, Any]]] = {}
    for row in snapshot.qbo_invoices.values():
        coperniq_id = invoice_id_from_note(row.get("PrivateNote"))
        if coperniq_id is not None:
            copies.setdefault(coperniq_id, []).append(row)
    for invoice in snapshot.coperniq_invoices:
        project_id = (invoice.get("record") or {}).get("id")
        if project_id not in pairs or qbo_invoice_id_from_description(invoice.get("description")):
            continue  # not a project's (or its project is archived), or a copy of a QuickBooks invoice
        if inbound_problem("invoices", invoice) is not None:
            continue  # unmappable: reported by the destination, never written
        rows = copies.get(invoice["id"], [])
        stage = snapshot.stage_of(active[project_id])
        wanted = not stages or (stage or "").casefold() in stages
        where = f"Coperniq invoice {invoice['id']} (project {project_id}, stage {stage!r})"
        if not rows:
            if wanted:
                problems.append(f"{where} is not in QuickBooks [item 1]")
            continue
        if len(rows) > 1:
            problems.append(f"{where} is in QuickBooks {len(rows)} times: {sorted(r['Id'] for r in rows)}")
        row, customer = rows[0], pairs[project_id]
        desired = invoice_fields(invoice, customer["Id"], snapshot.item_ref, customer.get("BillAddr"),
                                 terms=snapshot.terms, send_doc_number=snapshot.custom_txn_numbers)
        changes = {k: v for k, v in invoice_changes(row, desired).items() if k not in ISSUED_INVOICE_FIELDS_KEPT}
        problems += _field_problems(f"{where} / QuickBooks invoice {row['Id']}", changes, row, "Coperniq")
        total, balance = row.get("TotalAmt") or 0, row.get("Balance", row.get("TotalAmt") or 0)
        if balance < total:  # paid in QuickBooks: Coperniq must know (it may know more: a payment of its own)
            expected = invoice_status(total, balance, invoice.get("status"))
            if invoice.get("status") != expected and not (expected == "PARTIALLY_PAID" and invoice["status"] == "PAID"):
                problems.append(f"{where}: status {invoice.get('status')!r}, QuickBooks invoice {row['Id']} "
                                f"says {expected!r} (balance {balance} of {total})")
    return problems


def _invoices_born_in_quickbooks(snapshot: Snapshot, active: dict[int, dict[str, Any]]) -> list[str]:
    problems = []
    copies: dict[str, list[dict[str, Any]]] = {}
    for invoice in snapshot.coperniq_invoices:
        qbo_id = qbo_invoice_id_from_description(invoice.get("description"))
        if qbo_id is not None:
            copies.setdefault(qbo_id, []).append(invoice)
    for row in snapshot.qbo_invoices.values():
        if invoice_id_from_note(row.get("PrivateNote")) is not None or outbound_problem("invoices", row):
            continue
        customer = snapshot.customers.get(str((row.get("CustomerRef") or {}).get("value")))
        project_id = customer and (project_id_from_notes(customer.get("Notes")) or
                                   project_id_from_display_name(customer.get("DisplayName")))
        if project_id not in active:
            continue  # a customer linked to no (active) project: reported by the destination, not copied
        where = f"QuickBooks invoice {row['Id']} (customer {customer['Id']}, project {project_id})"
        found = copies.get(str(row["Id"]), [])
        if not found:
            problems.append(f"{where} is not in Coperniq [item 2]")
            continue
        if len(found) > 1:
            problems.append(f"{where} is in Coperniq {len(found)} times: {sorted(i['id'] for i in found)}")
        copy = found[0]
        if (copy.get("record") or {}).get("id") != project_id:
            problems.append(f"{where}: its Coperniq copy {copy['id']} is on project "
                            f"{(copy.get('record') or {}).get('id')} [item 2]")
        catalog_item = (copy.get("lineItems") or [{}])[0].get("catalogItemId") or 0
        desired = coperniq_invoice_fields(row, catalog_item)
        for create_only in ("issueDate", "calculationMethod"):
            desired.pop(create_only, None)
        problems += _field_problems(f"{where} / Coperniq invoice {copy['id']}", coperniq_invoice_changes(copy, desired),
                                    copy, "QuickBooks")
    return problems



def invoice_stage_move(backend: Any, project_id: int, stages: tuple[str, ...] = (INVOICE_STAGE,)
                       ) -> tuple[str, dict[str, Any]] | None:
    """(stage name, PATCH body) that moves a Coperniq sandbox project to an invoice stage (Workflows 1.0)
    or phase (2.0); None when it is in one already or its workflow has none."""
    project = backend.projects[project_id]
    workflow = backend.workflows.get(project.workflow_id) if project.workflow_id is not None else None
    if workflow is None:
        return None
    wanted = {s.casefold() for s in stages}
    shown = backend.project_json(project)
    if ((shown.get("stage") or shown.get("phase") or {}).get("name") or "").casefold() in wanted:
        return None
    for stage in workflow.stages if workflow.version == 1 else []:
        if stage.name.casefold() in wanted:
            return stage.name, {"stageId": stage.id}
    for phase in workflow.phases if workflow.version == 2 else []:
        if phase.name.casefold() in wanted:
            return phase.name, {"phaseId": phase.id}
    return None


# -- people at work ------------------------------------------------------------------------------------


@dataclass
class Edit:
    """One thing a person did, and how to tell it is still there after the sync."""

    side: str  # "Coperniq" or "QuickBooks"
    kind: str
    what: str
    holds: Callable[[Snapshot], bool]
    project_id: int | None = None  # the project (or the customer's project) it touched

    def __str__(self) -> str:
        return f"{self.side}: {self.what}"


COPERNIQ_EDITS = ("rename", "address", "stage", "contact", "new_project", "new_invoice")
QUICKBOOKS_EDITS = ("notes", "customer_address", "inactive", "new_invoice", "edit_invoice", "payment")


@dataclass
class People:
    """Project managers in Coperniq and AR in QuickBooks, editing at random (seeded) between two syncs."""

    sync: TwoWaySync
    rng: random.Random
    stages: tuple[str, ...] = (INVOICE_STAGE,)
    inactive: list[str] = field(default_factory=list)  # customers made inactive, reactivated later
    _counter: int = 0
    _kinds: list[tuple[str, str]] = field(default_factory=list)
    _retry: list[tuple[str, str]] = field(default_factory=list)

    @property
    def coperniq(self) -> Any:
        return self.sync.coperniq.backend

    @property
    def qbo(self) -> Any:
        return self.sync.quickbooks.backend

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def work(self, edits: int) -> list[Edit]:
        """``edits`` edits, about half on each side, each kind in turn so a run sees every kind; the two
        sides touch different projects within one round, so every edit has one value to cross."""
        snapshot = Snapshot.of(self.sync)
        active = snapshot.active_projects()
        pairs = {pid: cs[0] for pid, cs in snapshot.customers_of().items() if pid in active}
        touched: set[int] = set()
        done: list[Edit] = []
        attempts = 0
        while len(done) < edits and attempts < edits * 4:
            attempts += 1
            if self._retry and attempts % 2:  # a kind that was not possible before (nothing to pay yet...)
                side, kind = self._retry.pop(0)
            else:
                if not self._kinds:  # every kind once, in a new order, before any comes again
                    self._kinds = [*(("Coperniq", k) for k in COPERNIQ_EDITS),
                                   *(("QuickBooks", k) for k in QUICKBOOKS_EDITS)]
                    self.rng.shuffle(self._kinds)
                side, kind = self._kinds.pop(0)
            free = {pid: c for pid, c in pairs.items() if pid not in touched}
            edit = (self._coperniq_edit if side == "Coperniq" else self._quickbooks_edit)(kind, snapshot, free)
            if edit is None:
                if (side, kind) not in self._retry:
                    self._retry.append((side, kind))  # tried again at every other step until it can be done
                continue
            project_id, made = edit
            made.project_id = project_id
            touched.add(project_id)
            done.append(made)
        return done

    # -- Coperniq ------------------------------------------------------------------------------------

    def _coperniq_edit(self, kind: str, snapshot: Snapshot, free: dict[int, dict[str, Any]]
                       ) -> tuple[int, Edit] | None:
        if kind == "new_project":
            return self._new_project(snapshot)
        candidates = sorted(pid for pid in free if snapshot.projects[pid].get("isActive", True))
        self.rng.shuffle(candidates)
        fits = {"stage": lambda pid: invoice_stage_move(self.coperniq, pid, self.stages) is not None,
                "contact": lambda pid: snapshot.contact_of(snapshot.projects[pid]) is not None}.get(kind)
        project_id = next((pid for pid in candidates if fits is None or fits(pid)), None)
        if project_id is None:
            return None
        project = snapshot.projects[project_id]
        backend = self.coperniq
        if kind == "rename":
            others = sorted({p["title"] for i, p in snapshot.active_projects().items() if i != project_id})
            if self.rng.random() < 0.3 and others:  # a title another project already has
                title = self.rng.choice(others)
            else:
                title = f"{self.rng.choice(FAMILY)} {self.rng.choice(('Residence', 'Solar', 'Re-roof'))} {self._next()}"
            backend.update_project(project_id, {"title": title})
            return project_id, Edit("Coperniq", kind, f"project {project_id} renamed {title!r}",
                                    lambda s: s.projects[project_id]["title"] == title)
        if kind == "address":
            address = self._address()
            backend.update_project(project_id, {"address": [address]})
            return project_id, Edit("Coperniq", kind, f"project {project_id} moved to {address!r}",
                                    lambda s: s.projects[project_id]["address"] == [address])
        if kind == "stage":
            name, body = invoice_stage_move(backend, project_id, self.stages)
            backend.update_project(project_id, body)
            invoices = sum(1 for i in snapshot.coperniq_invoices if (i.get("record") or {}).get("id") == project_id)
            return project_id, Edit("Coperniq", kind, f"project {project_id} reached {name!r} "
                                    f"({invoices} invoices, unchanged)",
                                    lambda s: s.stage_of(s.projects[project_id]) == name)
        if kind == "contact":
            contact = snapshot.contact_of(project)
            change = self.rng.choice(("email", "phone", "name"))
            number = self._next()
            if change == "email":
                body = {"emails": [f"steady.{number}@example.com", *contact.get("emails", [])]}
            elif change == "phone":
                body = {"phones": [f"(512) 555-{1000 + number:04d}", *contact.get("phones", [])]}
            else:
                body = {"name": f"{self.rng.choice(GIVEN)} {self.rng.choice(FAMILY)}"}
            backend.update_contact(contact["id"], body)
            key, value = next(iter(body.items()))
            return project_id, Edit("Coperniq", kind, f"contact {contact['id']} of project {project_id}: "
                                    f"{key} -> {_show(value)}",
                                    lambda s: next(c for c in s.contacts if c["id"] == contact["id"])[key] == value)
        if kind == "new_invoice":
            invoice = self._coperniq_invoice(project_id)
            stage = snapshot.stage_of(project)
            return project_id, Edit("Coperniq", kind, f"new invoice {invoice['id']} on project {project_id} "
                                    f"(stage {stage!r})",
                                    lambda s: any(i["id"] == invoice["id"] for i in s.coperniq_invoices))
        raise ValueError(kind)

    def _address(self) -> str:
        city, state, postal = self.rng.choice(CITIES)
        return f"{self.rng.randint(100, 9899)} {self.rng.choice(STREETS)}, {city}, {state} {postal}"

    def _coperniq_invoice(self, project_id: int) -> dict[str, Any]:
        items = sorted(i.id for i in self.coperniq.catalog_items.values() if not i.is_archived)
        lines = [{"catalogItemId": item, "quantity": self.rng.randint(1, 4), "unitCost": 50.0,
                  "unitPrice": round(self.rng.uniform(80, 2500), 2), "description": None}
                 for item in self.rng.sample(items, self.rng.randint(1, 3))]
        now = datetime.now(UTC)
        return self.coperniq.create_invoice({
            "recordId": project_id, "calculationMethod": "LINE_ITEMS", "status": "SENT",
            "issueDate": now.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "dueDate": (now + timedelta(days=30)).strftime("%Y-%m-%dT00:00:00.000Z"),
            "description": f"Progress billing {self._next()}", "lineItems": lines})

    def _new_project(self, snapshot: Snapshot) -> tuple[int, Edit]:
        backend = self.coperniq
        titles = sorted({p["title"] for p in snapshot.active_projects().values()})
        shared = self.rng.random() < 0.3 and titles
        title = self.rng.choice(titles) if shared else f"{self.rng.choice(FAMILY)} Residence {self._next()}"
        workflow = self.rng.choice(sorted(backend.workflows))
        project, _ = backend.create_project({"title": title, "address": [self._address()], "workflowId": workflow},
                                            match_by="address", match_found_strategy="skip")
        given, family = self.rng.choice(GIVEN), self.rng.choice(FAMILY)
        number = self._next()
        backend.create_contact({"name": f"{given} {family}", "emails": [f"{given.lower()}.{number}@example.com"],
                                "phones": [f"(737) 555-{1000 + number:04d}"], "projectIds": [project["id"]]})
        if self.rng.random() < 0.5:
            self._coperniq_invoice(project["id"])
        return project["id"], Edit("Coperniq", "new_project", f"new project {project['id']} {title!r}",
                                   lambda s: project["id"] in s.projects)

    # -- QuickBooks ----------------------------------------------------------------------------------

    def _quickbooks_edit(self, kind: str, snapshot: Snapshot, free: dict[int, dict[str, Any]]
                         ) -> tuple[int, Edit] | None:
        qbo = self.qbo
        if kind == "inactive" and self.inactive and self.rng.random() < 0.6:
            customer_id = self.inactive.pop(0)
            project_id = next((p for p, c in free.items() if c["Id"] == customer_id), None)
            if project_id is None:
                self.inactive.insert(0, customer_id)
                return None
            qbo.edit_customer(customer_id, Active=True)
            return project_id, Edit("QuickBooks", kind, f"customer {customer_id} reactivated",
                                    lambda s: s.customers[customer_id]["Active"] is True)
        usable = {p: c for p, c in free.items() if c.get("Active", True) and c["Id"] not in self.inactive}
        if kind in ("edit_invoice", "payment"):
            return self._invoice_edit(kind, snapshot, usable)
        if not usable:
            return None
        if kind == "new_invoice":
            # AR bills customers whose title another project shares as often as the others
            titles: dict[str, int] = {}
            for project in snapshot.active_projects().values():
                titles[project["title"]] = titles.get(project["title"], 0) + 1
            # the customer with the plain title (not `Title (Coperniq #id)`) is the one a title cannot place
            shared = [p for p in usable if titles.get(snapshot.projects[p]["title"], 0) > 1
                      and project_id_from_display_name(usable[p]["DisplayName"]) is None]
            project_id = self.rng.choice(sorted(shared)) if shared and self.rng.random() < 0.5 \
                else self.rng.choice(sorted(usable))
        else:
            project_id = self.rng.choice(sorted(usable))
        customer_id = usable[project_id]["Id"]
        if kind == "notes":
            notes = snapshot.customers[customer_id].get("Notes") or ""
            line = f"On hold: unpaid invoice ({self._next()})"
            qbo.edit_customer(customer_id, Notes=f"{line}\n{notes}")
            return project_id, Edit("QuickBooks", kind, f"customer {customer_id}: notes {line!r}",
                                    lambda s: line in (s.customers[customer_id].get("Notes") or ""))
        if kind == "customer_address":
            city, state, postal = self.rng.choice(CITIES)
            address = {"Line1": f"{self.rng.randint(100, 9899)} {self.rng.choice(STREETS)}", "City": city,
                       "CountrySubDivisionCode": state, "PostalCode": postal, "Country": "US"}
            changes: dict[str, Any] = {"BillAddr": address}
            contact = snapshot.contact_of(snapshot.projects[project_id])
            # A person who is the contact of two projects reaches the other project's customer one round
            # later (Coperniq -> QuickBooks runs first): a phone is changed only where one project names them.
            if contact is None or len(contact.get("projects") or []) == 1:
                changes["PrimaryPhone"] = {"FreeFormNumber": f"(415) 555-{1000 + self._next():04d}"}
            qbo.edit_customer(customer_id, **changes)
            phone = (changes.get("PrimaryPhone") or {}).get("FreeFormNumber")
            return project_id, Edit("QuickBooks", kind, f"customer {customer_id}: {address['Line1']}"
                                    f"{', ' + phone if phone else ''}",
                                    lambda s: s.customers[customer_id]["BillAddr"]["Line1"] == address["Line1"])
        if kind == "inactive":
            qbo.deactivate_customer(customer_id)
            self.inactive.append(customer_id)
            return project_id, Edit("QuickBooks", kind, f"customer {customer_id} made inactive",
                                    lambda s: s.customers[customer_id]["Active"] is False)
        if kind == "new_invoice":
            invoice = self._qbo_invoice(customer_id)
            return project_id, Edit("QuickBooks", kind, f"new invoice {invoice['Id']} (${invoice['TotalAmt']:,.2f}) "
                                    f"for customer {customer_id} {snapshot.customers[customer_id]['DisplayName']!r}",
                                    lambda s: invoice["Id"] in s.qbo_invoices)
        raise ValueError(kind)

    def _items(self) -> list[str]:
        return sorted(i["Id"] for i in self.qbo.items.values() if i["Active"] and i["Name"] != ITEM_NAME)

    def _qbo_invoice(self, customer_id: str) -> dict[str, Any]:
        lines = [(item, self.rng.randint(1, 3), float(self.rng.randint(100, 4000)))
                 for item in self.rng.sample(self._items(), self.rng.randint(1, 2))]
        due = (datetime.now(UTC) + timedelta(days=self.rng.randint(10, 60))).date().isoformat()
        return self.qbo.add_invoice(customer_id, lines, DueDate=due,
                                    CustomerMemo={"value": f"Service call {self._next()}"})

    def _invoice_edit(self, kind: str, snapshot: Snapshot, usable: dict[int, dict[str, Any]]
                      ) -> tuple[int, Edit] | None:
        owner = {c["Id"]: p for p, c in usable.items()}
        candidates = [row for row in snapshot.qbo_invoices.values()
                      if str(row["CustomerRef"]["value"]) in owner
                      and (kind == "payment" and float(row.get("Balance") or 0) > 0
                           or kind == "edit_invoice" and invoice_id_from_note(row.get("PrivateNote")) is None)]
        if not candidates:
            return None
        row = self.rng.choice(sorted(candidates, key=lambda r: int(r["Id"])))
        project_id, invoice_id = owner[str(row["CustomerRef"]["value"])], row["Id"]
        if kind == "payment":
            balance = float(row["Balance"])
            amount = balance if self.rng.random() < 0.5 else round(balance / 2, 2)
            self.qbo.record_payment(invoice_id, amount)
            return project_id, Edit("QuickBooks", kind, f"invoice {invoice_id}: ${amount:,.2f} paid",
                                    lambda s: float(s.qbo_invoices[invoice_id]["Balance"]) < balance)
        memo = f"Revised: service call {self._next()}"
        changes: dict[str, Any] = {"CustomerMemo": {"value": memo}}
        if self.rng.random() < 0.5:
            item = self.rng.choice(self._items())
            price = float(self.rng.randint(100, 4000))
            changes["Line"] = [{"DetailType": "SalesItemLineDetail", "Amount": price,
                                "SalesItemLineDetail": {"ItemRef": {"value": item}, "Qty": 1, "UnitPrice": price}}]
        self.qbo.edit_invoice(invoice_id, **changes)
        return project_id, Edit("QuickBooks", kind, f"invoice {invoice_id} edited: memo {memo!r}"
                                f"{', new total' if 'Line' in changes else ''}",
                                lambda s: (s.qbo_invoices[invoice_id].get("CustomerMemo") or {}).get("value") == memo)


# -- the rounds --------------------------------------------------------------------------------------


@dataclass
class RoundReport:
    number: int
    edits: list[Edit]
    writes: tuple[int, int]  # (QuickBooks write requests, Coperniq write requests)
    problems: list[str]
    summaries: list[str]


def write_summaries(round_: Round) -> list[str]:
    lines = []
    for name, (_, write) in (("to QuickBooks", round_.inbound), ("to Coperniq", round_.outbound)):
        summary = next((m for m in write.logs() if m.startswith("Write summary:")), "Write summary: (none)")
        lines.append(f"{name}: {summary.removeprefix('Write summary: ')}")
    return lines


@dataclass
class SteadyState:
    """Rounds of both directions on a schedule: edits in every other round, a quiet round after each."""

    sync: TwoWaySync
    seed: int
    edits_per_round: int = 6
    invoice_stages: tuple[str, ...] = (INVOICE_STAGE,)
    reports: list[RoundReport] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.people = People(self.sync, random.Random(self.seed), self.invoice_stages)

    def round(self, edits: int) -> RoundReport:
        made = self.people.work(edits) if edits else []
        result = self.sync.round()
        snapshot = Snapshot.of(self.sync)
        problems = [f"connector error: {e.get('message')}" for e in result.errors]
        problems += [f"edit lost: {edit}" for edit in made if not edit.holds(snapshot)]
        if self.reports and not made and result.writes != (0, 0):
            problems.append(f"a round with no edits wrote {result.writes[0]} QuickBooks and {result.writes[1]} "
                            "Coperniq requests; it must write nothing")
        problems += disagreements(snapshot, self.invoice_stages)
        report = RoundReport(len(self.reports) + 1, made, result.writes, problems, write_summaries(result))
        self.reports.append(report)
        return report

    def from_scratch(self) -> RoundReport:
        """A sync from scratch (an Airbyte reset: no state) after the rounds: both systems agree, so it
        must write nothing (issue 10, item 11)."""
        agreed = bool(self.reports) and not any("differs" in p or "not in" in p for p in self.reports[-1].problems)
        self.sync.reset()
        report = self.round(0)  # a round with no edits: it must write nothing
        cause = " [item 11]" if agreed else " (the systems disagreed before it: it may be mending that)"
        report.problems = [f"sync from scratch: {p}{cause if 'no edits wrote' in p else ''}" for p in report.problems]
        return report

    def run(self, rounds: int) -> list[RoundReport]:
        """Round 1 is the first sync; then edits and a quiet round in turn."""
        self.round(0)
        while len(self.reports) < rounds:
            self.round(self.edits_per_round if len(self.reports) % 2 == 1 else 0)
        return self.reports


def describe(reports: list[RoundReport], limit: int = 40) -> str:
    """The failed rounds, for an assertion message: the edits before each, what it wrote, what disagrees."""
    lines = []
    for report in reports:
        if not report.problems:
            continue
        lines.append(f"round {report.number}: {len(report.edits)} edits, writes (QuickBooks, Coperniq) "
                     f"{report.writes}; {'; '.join(report.summaries)}")
        lines += [f"    edit  {edit}" for edit in report.edits]
        lines += [f"    FAIL  {problem}" for problem in report.problems[:limit]]
        if len(report.problems) > limit:
            lines.append(f"    ... and {len(report.problems) - limit} more")
    return "\n".join(lines)
