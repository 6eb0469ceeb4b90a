"""What destination-coperniq writes, decided without writing: QuickBooks records + what Coperniq holds -> a plan.

qbo:out:1: a customer finds its project through the link destination-quickbooks wrote (the
``Coperniq project #ID`` line of its Notes, or the ``(Coperniq #ID)`` DisplayName suffix). The project
and its contact are compared in QuickBooks' terms (``mapping.qbo_to_coperniq``) and written only where
QuickBooks really differs, so the echo of our own writes plans no write. An inactive customer never
lends QuickBooks' ``(deleted)`` suffix to a project title; its project gets
``inactive_customer_project_status`` when set, else the deactivation is reported.
``unlinked_customers: upsert`` never merges a customer into a project on a title alone or on an
ambiguous match: it reports what would link them instead.

qbo:out:2: an invoice born in Coperniq (``Coperniq invoice #ID`` in its PrivateNote) only brings its
payment status back. An invoice born in QuickBooks is created once on the project of its customer and
found again by the ``QuickBooks invoice #Id`` line of its description; never on a project picked by a
shared title.

Each record gets a ``RecordPlan``: the writes it needs (``PlannedWrite``: which Coperniq record, the
body, and why) and what the report says of it (skipped, a caveat, filtered, unchanged), in order. The
planner reads Coperniq only through ``CoperniqView`` (``lookups.CoperniqHoldings`` reads it on demand;
tests pass a table) and writes nothing: ``executor.PlanExecutor`` runs the plan, a dry run prints it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, Protocol

from connector_core.destination import describe_fields
from mapping.coperniq_targets import (
    CustomerFilter,
    has_person,
    is_deleted,
    linked_project,
    projects_matching,
    projects_titled,
    qbo_invoice_copy,
)
from mapping.links import (
    PROJECT_MARKER,
    invoice_id_from_note,
    is_inactive,
    own_display_name,
    project_id_from_display_name,
)
from mapping.qbo_to_coperniq import (
    contact_changes,
    coperniq_invoice_changes,
    coperniq_invoice_fields,
    names_nobody,
    payment_status_forward,
    project_changes,
    project_for_unlinked_customer,
    project_status_change,
    shows_payment,
)

Record = Mapping[str, Any]
LINK_HINT = ("add the line '" + PROJECT_MARKER.format("<project id>") + "' to the customer's Notes in QuickBooks "
             "to link it to its project")


class WriteKind(Enum):
    """One kind of Coperniq write: the action the report counts it as, and the Coperniq record it touches."""

    UPDATE_PROJECT = ("update", "project")
    UPSERT_PROJECT = ("upsert", "project")
    CREATE_CONTACT = ("create_contact", "contact")
    UPDATE_CONTACT = ("update_contact", "contact")
    CREATE_INVOICE = ("create", "invoice")
    UPDATE_INVOICE = ("update", "invoice")

    @property
    def action(self) -> str:
        return self.value[0]


@dataclass(frozen=True)
class PlannedWrite:
    """One request to Coperniq, and why."""

    stream: str
    record_id: str  # the QuickBooks record it comes from
    kind: WriteKind
    coperniq_id: int | None  # the record updated; for a create, the project the new record belongs to
    body: dict[str, Any]
    reason: str
    current: Record | None = None  # an update's Coperniq record as read: kept current after the write
    query: Mapping[str, str] = field(default_factory=dict)  # request parameters (an upsert's match_by)

    def describe(self) -> str:
        """The write as the dry run prints it: the fields sent, then why."""
        return f"{describe_fields(self.body)}; {self.reason}"


@dataclass(frozen=True)
class Finding:
    """What the report says of a record besides its writes: a skip, a caveat, or an action counted."""

    kind: Literal["skip", "caveat", "count"]
    text: str  # the reason, or for "count" the action counted (filtered, unchanged, inactive_reported)


@dataclass
class RecordPlan:
    """Everything one QuickBooks record leads to, in order."""

    stream: str
    record_id: str
    steps: list[PlannedWrite | Finding] = field(default_factory=list)
    link: tuple[str, int] | None = None  # (QuickBooks customer id, its project) an invoice proved

    @property
    def writes(self) -> list[PlannedWrite]:
        return [step for step in self.steps if isinstance(step, PlannedWrite)]

    @property
    def findings(self) -> list[Finding]:
        return [step for step in self.steps if isinstance(step, Finding)]

    def write(self, kind: WriteKind, coperniq_id: int | None, body: dict[str, Any], reason: str,
              current: Record | None = None, query: Mapping[str, str] | None = None) -> None:
        """Plan a write; an empty body (nothing changed) plans none."""
        if body:
            self.steps.append(PlannedWrite(self.stream, self.record_id, kind, coperniq_id, body, reason, current,
                                           dict(query or {})))

    def skip(self, reason: str) -> RecordPlan:
        self.steps.append(Finding("skip", reason))
        return self

    def caveat(self, reason: str) -> RecordPlan:
        self.steps.append(Finding("caveat", reason))
        return self

    def count(self, action: str) -> RecordPlan:
        self.steps.append(Finding("count", action))
        return self

    def unchanged_unless_written(self) -> RecordPlan:
        return self if self.writes else self.count("unchanged")


@dataclass(frozen=True)
class WriteRules:
    """The settings that decide what is written."""

    customer_filter: CustomerFilter = field(default_factory=CustomerFilter)
    matched_status: str | None = None  # matched_project_status
    inactive_status: str | None = None  # inactive_customer_project_status
    upsert_unlinked: bool = False  # unlinked_customers: upsert
    match_by: str = "title"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WriteRules:
        return cls(customer_filter=CustomerFilter.from_config(config),
                   matched_status=config.get("matched_project_status") or None,
                   inactive_status=config.get("inactive_customer_project_status") or None,
                   upsert_unlinked=config.get("unlinked_customers") == "upsert",
                   match_by=str(config.get("match_by") or "title"))


class CoperniqView(Protocol):
    """What Coperniq holds, as the planner asks for it."""

    def project(self, project_id: int) -> Record | None:
        """The project (archived ones too); None when it does not exist."""

    def project_contact(self, project: Record, customer: Record) -> Record | None:
        """The project's contact as ``mapping.coperniq_targets.contact_probes`` recognises it, else None."""

    def match_candidates(self, match_by: str, value: str) -> list[Record]:
        """The projects Coperniq's ``match_by`` filter finds for ``value`` (first page)."""

    def title_candidates(self, display_name: str) -> list[Record]:
        """Projects whose title may be what this DisplayName stands for."""

    def invoices_of(self, project_id: int) -> list[Record]:
        """Every invoice of the project."""

    def invoice(self, invoice_id: int) -> Record | None:
        """The invoice; None when it does not exist."""

    def catalog_item_id(self) -> int:
        """The catalog item invoice lines from QuickBooks are booked on."""

    def customer_project(self, customer_id: str) -> int | None:
        """The project an earlier record of this run linked this QuickBooks customer to, else None."""


def plan_record(stream: str, record: Record, view: CoperniqView, rules: WriteRules) -> RecordPlan:
    return (plan_customer if stream == "customers" else plan_invoice)(record, view, rules)


# -- qbo:out:1 ---------------------------------------------------------------------------------


def plan_customer(customer: Record, view: CoperniqView, rules: WriteRules) -> RecordPlan:
    """A customer's project (fields and status) and its contact, or why nothing is written."""
    plan = RecordPlan("customers", str(customer["Id"]))
    project_id = linked_project(customer)
    admitted = rules.customer_filter.admits(customer)
    inactive = is_inactive(customer)
    if not admitted and not (inactive and project_id is not None):
        return plan.count("filtered")
    if project_id is None:
        return _plan_unlinked(customer, view, rules, plan)
    project = view.project(project_id)
    if project is None:
        return plan.skip(f"its linked Coperniq project {project_id} no longer exists")
    # QuickBooks shows an inactive customer as "Name (deleted)": the project keeps the customer's own name.
    named = {**customer, "DisplayName": own_display_name(customer)}
    _plan_project_update(named, project, project_id, admitted, rules, plan)
    if admitted:
        _plan_contact(named, project, view, plan)
    return plan.unchanged_unless_written()


def _plan_project_update(customer: Record, project: Record, project_id: int, admitted: bool, rules: WriteRules,
                         plan: RecordPlan) -> None:
    inactive = is_inactive(customer)
    changes = project_changes(dict(customer), dict(project), project_id) if admitted else {}
    reasons = [f"the customer's {' and '.join(changes)} differ from the project's"] if changes else []
    status = project_status_change(project.get("status"), inactive=inactive, inactive_status=rules.inactive_status,
                                   filter_matched=admitted and bool(rules.customer_filter.field),
                                   matched_status=rules.matched_status)
    if status is not None:
        changes["status"] = status
        reasons.append("the customer is inactive in QuickBooks" if inactive and rules.inactive_status
                       else "the customer passes the customer filter")
    if inactive and not rules.inactive_status:
        plan.count("inactive_reported")
        plan.caveat(f"customer {own_display_name(dict(customer))!r} is inactive in QuickBooks; its project "
                    f"{project_id} is left as it is (set inactive_customer_project_status to change its status "
                    "when a customer is made inactive)")
    plan.write(WriteKind.UPDATE_PROJECT, project_id, changes, "; ".join(reasons), current=project)


def _plan_contact(customer: Record, project: Record, view: CoperniqView, plan: RecordPlan) -> None:
    if not has_person(customer):
        return
    contact = view.project_contact(project, customer)
    if contact is None and names_nobody(dict(customer)):
        plan.caveat("names no person (no GivenName, FamilyName or CompanyName): its email and phone make no "
                    "Coperniq contact; add a name in QuickBooks or a contact in Coperniq")
        return
    changes = contact_changes(dict(customer), dict(contact) if contact is not None else None)
    if contact is None:
        plan.write(WriteKind.CREATE_CONTACT, project["id"], {**changes, "projectIds": [project["id"]]},
                   f"project {project['id']} has no contact with its primary email or phone or the customer's name")
    else:
        plan.write(WriteKind.UPDATE_CONTACT, contact["id"], changes,
                   f"the customer's {' and '.join(changes)} differ from contact {contact['id']}'s", current=contact)


def _plan_unlinked(customer: Record, view: CoperniqView, rules: WriteRules, plan: RecordPlan) -> RecordPlan:
    if not rules.upsert_unlinked:
        return plan.skip("no linked Coperniq project (its Notes carry no 'Coperniq project #ID' line); set "
                         "unlinked_customers to upsert to match or create one")
    if is_inactive(customer):
        return plan.skip("inactive in QuickBooks and linked to no Coperniq project: no project is made for it")
    body = project_for_unlinked_customer(dict(customer))
    if body is None:
        return plan.skip("no linked project, and no address to create one (Coperniq requires a project address)")
    blocker = _upsert_blocker(body, view, rules)
    if blocker is not None:
        return plan.skip(blocker)
    plan.write(WriteKind.UPSERT_PROJECT, None, body,
               f"linked to no project: Coperniq's match_by {rules.match_by} finds one to enrich or makes a new one",
               query={"match_by": rules.match_by, "match_found_strategy": "enrich"})
    return plan


def _upsert_blocker(body: Record, view: CoperniqView, rules: WriteRules) -> str | None:
    """Why Coperniq's match_by might merge this customer into the wrong project, or None when it is safe.

    A title proves nothing (two homes are both "Smith Residence"): with ``match_by: title`` any project
    of that title stops the upsert. On the other fields a match is trusted only when it is the only one.
    """
    value = body.get(rules.match_by)
    search = value[0] if isinstance(value, list) else value
    if not search:
        return None  # Coperniq matches nothing on an empty value: a new project
    matching = projects_matching(rules.match_by, value, view.match_candidates(rules.match_by, str(search)))
    shown = ", ".join(map(str, matching[:5]))
    if rules.match_by == "title" and matching:
        return (f"linked to no project, and its name matches the title of project(s) {shown}; "
                f"a title alone does not prove they are the same job, so nothing was merged: {LINK_HINT}, or set "
                "match_by to primaryEmail, primaryPhone or address")
    if len(matching) > 1:
        return (f"linked to no project, and its {rules.match_by} matches {len(matching)} projects ({shown}): "
                f"ambiguous, nothing was merged; {LINK_HINT}")
    return None


# -- qbo:out:2 ---------------------------------------------------------------------------------


def plan_invoice(invoice: Record, view: CoperniqView, rules: WriteRules) -> RecordPlan:
    """A QuickBooks invoice's Coperniq copy (created once, then kept equal), or its payment news."""
    plan = RecordPlan("invoices", str(invoice["Id"]))
    if is_deleted(invoice):
        # Deleting records in Coperniq on a signal from accounting is left to people: reported, not done.
        return plan.skip("deleted in QuickBooks; its Coperniq copy (if any) is kept")
    coperniq_id = invoice_id_from_note(invoice.get("PrivateNote"))
    if coperniq_id is not None:
        return _plan_payment_news(invoice, coperniq_id, view, plan)
    project_id = _invoice_project(invoice, view, plan)
    if project_id is None:
        return plan  # skipped, with why
    desired = coperniq_invoice_fields(dict(invoice), view.catalog_item_id())
    existing = qbo_invoice_copy(view.invoices_of(project_id), invoice["Id"])
    if existing is None:
        plan.write(WriteKind.CREATE_INVOICE, project_id, {"recordId": project_id, **desired},
                   f"no invoice of project {project_id} is a copy of QuickBooks invoice {invoice['Id']}")
        return plan
    changes = coperniq_invoice_changes(dict(existing), desired)
    plan.write(WriteKind.UPDATE_INVOICE, existing["id"], changes,
               f"its {' and '.join(changes)} differ from the Coperniq copy's", current=existing)
    return plan.unchanged_unless_written()


def _plan_payment_news(invoice: Record, coperniq_id: int, view: CoperniqView, plan: RecordPlan) -> RecordPlan:
    """An invoice born in Coperniq: Coperniq owns its lines; QuickBooks only adds news of payments."""
    if not shows_payment(dict(invoice)):
        return plan.count("unchanged")  # no payment in QuickBooks: nothing to tell Coperniq
    current = view.invoice(coperniq_id)
    if current is None:
        return plan.skip(f"its Coperniq invoice {coperniq_id} no longer exists")
    status = payment_status_forward(dict(invoice), current.get("status"))
    plan.write(WriteKind.UPDATE_INVOICE, current["id"], {"status": status} if status else {},
               "QuickBooks records a payment Coperniq's status does not show yet", current=current)
    return plan.unchanged_unless_written()


def _invoice_project(invoice: Record, view: CoperniqView, plan: RecordPlan) -> int | None:
    """The project of the invoice's customer, from the link only (an incremental sync brings a new
    invoice without its unchanged customer, so the source puts the link on the invoice).

    In order: ``_coperniq_project_id`` (source-quickbooks reads it from the customer's Notes), an earlier
    customer record of this run, the DisplayName suffix. Only an invoice from a source that does not send
    ``_coperniq_project_id`` falls back to a title, and only when exactly one project has it. A miss is
    skipped with why and what would link it.
    """
    ref = invoice.get("CustomerRef") or {}
    customer_id, name = str(ref.get("value")), own_display_name({"DisplayName": str(ref.get("name") or "")})
    linked = invoice.get("_coperniq_project_id")
    if isinstance(linked, int | str) and not isinstance(linked, bool) and str(linked).strip().isdigit():
        plan.link = (customer_id, int(linked))
        return int(linked)
    found = view.customer_project(customer_id) or project_id_from_display_name(name)
    if found is not None:
        return found
    reason = f"its customer {name!r} (Id {customer_id}) is linked to no Coperniq project"
    if "_coperniq_project_id" not in invoice and name:
        matches = projects_titled(name, view.title_candidates(name))
        if len(matches) == 1:
            plan.link = (customer_id, matches[0])
            return matches[0]
        if matches:
            reason += f", and projects {', '.join(map(str, matches[:5]))} share its title, so none was picked by title"
    plan.skip(f"{reason}: {LINK_HINT}")
    return None
