"""The sandbox's business rules: what a write does besides storing its fields.

- every write stamps `lastModifiedDate`; a write that changes nothing is not a change;
- a customer defaults to the primary subsidiary and its currency; a job to its parent's;
- a timebill cannot be entered on a closed or cancelled job, belongs to its job's
  customer, costs hours x rate, and cannot be changed once billed;
- an invoice bills item lines and timebills (its `time` lines): each timebill is billed
  at most once and only for its own job and customer; the invoice's total is the sum of
  its lines, it is Open unless it carries a blocked reason (then Pending Approval), and
  the timebills it bills point back at it;
- a customer payment lowers its invoices' amount remaining; an invoice paid down to zero
  becomes Paid In Full;
- a record others still point at cannot be deleted (billed time is released from a
  deleted invoice; a deleted payment is reversed).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sandboxes.base import ModClock
from sandboxes.erp.catalog import (
    CLOSED_JOB_STATUSES,
    INVOICE_OPEN,
    INVOICE_PAID,
    INVOICE_PENDING,
    INVOICE_VOIDED,
    RecordType,
)
from sandboxes.erp.store import Record, RecordError, RecordStore

CENT = Decimal("0.01")
STAMPS = frozenset({"dateCreated", "lastModifiedDate"})


@dataclass(frozen=True)
class Change:
    type_name: str
    record_id: str
    kind: str  # created updated deleted
    fields: tuple[str, ...] = ()


def _user_error(detail: str, code: str = "USER_ERROR") -> RecordError:
    return RecordError(400, code, detail)


@dataclass
class Ledger:
    store: RecordStore
    clock: ModClock
    changes: list[Change] = field(default_factory=list)  # drained by the sandbox

    # --- the four writes ------------------------------------------------------------------

    def create(self, type_name: str, body: Any, external_id: str | None = None) -> Record:
        record_type = self._writable(type_name)
        fields = self.store.parse_body(type_name, body)
        if external_id is not None:
            if fields.get("externalId") not in (None, external_id):
                raise _user_error("The externalId in the body differs from the one in the URL.")
            fields["externalId"] = external_id
        ext = fields.get("externalId")
        if ext is not None and self.store.by_external_id(type_name, ext) is not None:
            raise _user_error(
                f"A {type_name} record with external ID '{ext}' already exists.", "DUP_RCRD"
            )
        missing = [name for name in record_type.required if fields.get(name) in (None, [])]
        if missing:
            raise _user_error(f"Please enter value(s) for: {', '.join(missing)}.")
        now = self.clock.tick()
        record = {
            "id": self.store.next_id(type_name),
            **fields,
            "dateCreated": now,
            "lastModifiedDate": now,
        }
        self._prepare(type_name, record, None)
        self.store.put(type_name, record)
        self._after(type_name, record, None)
        self.changes.append(Change(type_name, record["id"], "created", tuple(fields)))
        return record

    def update(self, type_name: str, record: Record, body: Any) -> Record:
        self._writable(type_name)
        fields = self.store.parse_body(type_name, body)
        updated = {**record, **fields}
        self._prepare(type_name, updated, record)
        changed = tuple(
            name for name in updated if name not in STAMPS and updated.get(name) != record.get(name)
        )
        if not changed:
            return record
        updated["lastModifiedDate"] = self.clock.tick()
        self.store.put(type_name, updated)
        self._after(type_name, updated, record)
        self.changes.append(Change(type_name, record["id"], "updated", changed))
        return updated

    def upsert(self, type_name: str, external_id: str, body: Any) -> tuple[Record, bool]:
        """Create or update the record with this external id; True when created."""
        existing = self.store.by_external_id(type_name, external_id)
        if existing is None:
            return self.create(type_name, body, external_id), True
        if isinstance(body, dict) and body.get("externalId") not in (None, external_id):
            raise _user_error("The externalId in the body differs from the one in the URL.")
        return self.update(type_name, existing, body), False

    def delete(self, type_name: str, record: Record) -> None:
        self._writable(type_name)
        # Billed time is released from a deleted invoice rather than blocking it.
        ignored = {"timebill"} if type_name == "invoice" else set()
        for other_type, other_id in self._dependents(type_name, record["id"]):
            if other_type not in ignored:
                raise _user_error(
                    f"This record cannot be deleted because {other_type} {other_id} refers to it.",
                    "THIS_RECORD_CANNOT_BE_DELETED",
                )
        if type_name == "customerpayment":
            self._apply_payment(record, sign=-1)
        if type_name == "invoice":
            self._bill_time(record["id"], self._time_docs(record), set())
        self.store.delete(type_name, record["id"])
        self.changes.append(Change(type_name, record["id"], "deleted"))

    def touch(self, type_name: str, record_id: str) -> bool:
        record = self.store.get(type_name, record_id)
        if record is None:
            return False
        record["lastModifiedDate"] = self.clock.tick()
        self.store.changed(type_name)
        self.changes.append(Change(type_name, record_id, "updated", ("lastModifiedDate",)))
        return True

    # --- shared helpers -------------------------------------------------------------------

    def _writable(self, type_name: str) -> RecordType:
        record_type = self.store.type(type_name)
        if not record_type.writable:
            raise RecordError(
                405, "METHOD_NOT_ALLOWED", f"Records of type {type_name} are read-only here."
            )
        return record_type

    def _today(self) -> date:
        return self.clock.now().date()

    def _need(self, type_name: str, record_id: str | None) -> Record:
        record = None if record_id is None else self.store.get(type_name, record_id)
        if record is None:
            raise _user_error(
                f"Invalid {type_name} reference key {record_id}.", "INVALID_KEY_OR_REF"
            )
        return record

    def _dependents(self, type_name: str, record_id: str) -> Iterator[tuple[str, str]]:
        for other_name, other_type in self.store.types.items():
            refs = [n for n, s in other_type.fields.items() if s.target == type_name]
            lines = {
                n: [i for i, s in spec.items.items() if s.target == type_name]
                for n, spec in other_type.sublists().items()
            }
            for other in self.store.all(other_name):
                if any(other.get(n) == record_id for n in refs) or any(
                    line.get(i) == record_id
                    for n, items in lines.items()
                    for line in other.get(n) or ()
                    for i in items
                ):
                    yield other_name, other["id"]

    def _touch_related(self, type_name: str, record: Record, fields: tuple[str, ...]) -> None:
        record["lastModifiedDate"] = self.clock.tick()
        self.store.changed(type_name)
        self.changes.append(Change(type_name, record["id"], "updated", fields))

    def _prepare(self, type_name: str, record: Record, old: Record | None) -> None:
        prepare = getattr(self, f"_prepare_{type_name}", None)
        if prepare is not None:
            prepare(record, old)

    def _after(self, type_name: str, record: Record, old: Record | None) -> None:
        after = getattr(self, f"_after_{type_name}", None)
        if after is not None:
            after(record, old)

    # --- per record type --------------------------------------------------------------------

    def _prepare_customer(self, record: Record, old: Record | None) -> None:
        if old is None:
            primary = self.store.all("subsidiary")
            if record.get("subsidiary") is None and primary:
                record["subsidiary"] = primary[0]["id"]
            subsidiary = self.store.get("subsidiary", record.get("subsidiary") or "")
            record.setdefault("entityId", f"CUST{record['id']}")
            record.setdefault("creditHoldOverride", "AUTO")
            record.setdefault("isInactive", False)
            if record.get("currency") is None and subsidiary is not None:
                record["currency"] = subsidiary.get("currency")

    def _prepare_job(self, record: Record, old: Record | None) -> None:
        customer = self._need("customer", record.get("parent"))
        if old is None:
            record.setdefault("entityId", f"PRJ{record['id']}")
            record.setdefault("entityStatus", "2")
            record.setdefault("currency", customer.get("currency"))
            record.setdefault("subsidiary", customer.get("subsidiary"))

    def _prepare_billingschedule(self, record: Record, old: Record | None) -> None:
        job = self._need("job", record.get("job"))
        record.setdefault("name", f"{job.get('entityId')} billing")
        for line in record.get("recurrence") or ():
            if line.get("amount") is None:
                raise _user_error("Every billing schedule line needs an amount.")

    def _prepare_timebill(self, record: Record, old: Record | None) -> None:
        job = self._need("job", record.get("job"))
        if old is not None and old.get("invoice") is not None:
            for name in ("job", "customer", "hours", "rate"):
                if record.get(name) != old.get(name):
                    raise _user_error("Time that has been billed cannot be changed.")
        if (old is None or record.get("job") != old.get("job")) and job.get(
            "entityStatus"
        ) in CLOSED_JOB_STATUSES:
            raise _user_error(
                f"Time cannot be entered on the closed project {job.get('entityId')}."
            )
        customer = record.get("customer") or job.get("parent")
        if customer != job.get("parent"):
            raise _user_error("The customer of this time is not the project's customer.")
        hours = record.get("hours")
        if hours is None or hours <= 0:
            raise _user_error("Hours must be more than zero.")
        record["customer"] = customer
        record["amount"] = (hours * record["rate"]).quantize(CENT)
        record.setdefault("currency", job.get("currency"))
        record.setdefault("isBillable", True)

    def _prepare_invoice(self, record: Record, old: Record | None) -> None:
        customer = self._need("customer", record.get("entity"))
        job_id = record.get("job")
        if job_id is not None and self._need("job", job_id).get("parent") != customer["id"]:
            raise _user_error(f"Project {job_id} belongs to another customer.")
        # Time lines name timebills; their amounts are the ledger's, not the caller's.
        lines_changed = old is None or (
            record.get("item") != old.get("item") or self._time_docs(record) != self._time_docs(old)
        )
        if old is not None and not lines_changed:
            record["item"], record["time"] = old.get("item"), old.get("time")
        elif old is not None and old.get("status") in (INVOICE_PAID, INVOICE_VOIDED):
            raise _user_error("A paid or voided invoice cannot be changed.")
        if lines_changed:
            self._price_invoice(record, old)
        if old is None:
            record.setdefault("tranId", f"INV{record['id']}")
            record.setdefault("currency", customer.get("currency"))
            record.setdefault("tranDate", self._today())
            if record.get("dueDate") is None:
                terms = self.store.get("term", customer.get("terms") or "")
                days = int((terms or {}).get("daysUntilNetDue") or 0)
                record["dueDate"] = record["tranDate"] + timedelta(days=days)
            record["status"] = (
                INVOICE_PENDING if record.get("custbody_blocked_reason") else INVOICE_OPEN
            )
        elif record.get("amountRemaining") == record.get("total"):
            blocked = record.get("custbody_blocked_reason")
            if blocked and record.get("status") == INVOICE_OPEN:
                record["status"] = INVOICE_PENDING
            elif (
                not blocked
                and old.get("custbody_blocked_reason")
                and record.get("status") == INVOICE_PENDING
            ):
                record["status"] = INVOICE_OPEN

    def _price_invoice(self, record: Record, old: Record | None) -> None:
        total = Decimal(0)
        for line in record.get("item") or ():
            if line.get("amount") is None:
                raise _user_error("Every invoice item line needs an amount.")
            total += line["amount"]
        seen: set[str] = set()
        for line in record.get("time") or ():
            if line.get("apply") is False:
                continue
            timebill = self._need("timebill", line.get("doc"))
            if timebill["id"] in seen:
                raise _user_error(f"Time {timebill['id']} is on this invoice twice.")
            seen.add(timebill["id"])
            if timebill.get("isBillable") is False:
                raise _user_error(f"Time {timebill['id']} is not billable.")
            if timebill.get("invoice") not in (None, record["id"]):
                raise _user_error(
                    f"Time {timebill['id']} is already billed on invoice {timebill['invoice']}."
                )
            if timebill.get("customer") != record.get("entity") or (
                record.get("job") is not None and timebill.get("job") != record.get("job")
            ):
                raise _user_error(f"Time {timebill['id']} belongs to another project or customer.")
            line["amount"] = timebill["amount"]
            total += timebill["amount"]
        if old is None and not (record.get("item") or seen):
            raise _user_error("An invoice needs at least one line.")
        paid = Decimal(0) if old is None else old["total"] - old["amountRemaining"]
        if total < paid:
            raise _user_error("The invoice total cannot drop below what has been paid.")
        record["total"] = total
        record["amountRemaining"] = total - paid

    def _after_invoice(self, record: Record, old: Record | None) -> None:
        before = set() if old is None else self._time_docs(old)
        self._bill_time(record["id"], before, self._time_docs(record))

    def _time_docs(self, invoice: Record) -> set[str]:
        return {line["doc"] for line in invoice.get("time") or () if line.get("apply") is not False}

    def _bill_time(self, invoice_id: str, before: set[str], after: set[str]) -> None:
        for timebill_id in sorted(before - after):
            timebill = self.store.get("timebill", timebill_id)
            if timebill is not None and timebill.get("invoice") == invoice_id:
                timebill["invoice"] = None
                self._touch_related("timebill", timebill, ("invoice",))
        for timebill_id in sorted(after - before):
            timebill = self._need("timebill", timebill_id)
            timebill["invoice"] = invoice_id
            self._touch_related("timebill", timebill, ("invoice",))

    def _prepare_customerpayment(self, record: Record, old: Record | None) -> None:
        customer = self._need("customer", record.get("customer"))
        if old is not None:
            for name in ("customer", "payment", "apply"):
                if record.get(name) != old.get(name):
                    raise _user_error("An applied payment cannot be changed; delete it instead.")
            return
        unapplied = record["payment"]
        for line in record.get("apply") or ():
            if line.get("apply") is False:
                continue
            invoice = self._need("invoice", line.get("doc"))
            if invoice.get("entity") != customer["id"] or invoice.get("status") != INVOICE_OPEN:
                raise _user_error(f"Invoice {invoice['id']} is not open for this customer.")
            amount = line.get("amount")
            if amount is None:
                amount = min(unapplied, invoice["amountRemaining"])
            if amount > invoice["amountRemaining"] or amount > unapplied:
                raise _user_error(f"The payment applied to invoice {invoice['id']} is too large.")
            line["amount"] = amount
            unapplied -= amount
        record.setdefault("tranId", f"PYMT{record['id']}")
        record.setdefault("currency", customer.get("currency"))
        record.setdefault("tranDate", self._today())

    def _after_customerpayment(self, record: Record, old: Record | None) -> None:
        if old is None:
            self._apply_payment(record, sign=1)

    def _apply_payment(self, payment: Record, sign: int) -> None:
        for line in payment.get("apply") or ():
            invoice = self.store.get("invoice", line.get("doc") or "")
            if invoice is None or line.get("apply") is False:
                continue
            invoice["amountRemaining"] -= sign * line["amount"]
            if invoice["amountRemaining"] <= 0:
                invoice["status"], invoice["custbody_paid_at"] = INVOICE_PAID, self.clock.now()
            elif invoice.get("status") == INVOICE_PAID:
                invoice["status"], invoice["custbody_paid_at"] = INVOICE_OPEN, None
            self._touch_related(
                "invoice", invoice, ("amountRemaining", "status", "custbody_paid_at")
            )
