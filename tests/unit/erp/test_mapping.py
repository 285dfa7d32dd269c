"""NetSuite rows become canonical records; canonical fields become NetSuite bodies."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from sources.erp import mapping
from sources.erp.mapping import InvoiceLine, MalformedRowError
from sources.records import BillingScheduleLine

UI = "http://erp.test"


def invoice_row(**overrides: Any) -> dict[str, Any]:
    row = {
        "links": [],
        "id": "600001",
        "tranid": "INV-2024-000001",
        "entity": "101",
        "job": "20001",
        "status": "A",
        "total": "1250.50",
        "currency": "EUR",
        "trandate": "2024-09-01",
        "duedate": "2024-10-01",
        "lastmodifieddate": "2024-09-01T10:00:00.250Z",
    }
    return {**row, **overrides}


@pytest.mark.parametrize(
    ("status", "blocked", "expected"),
    [
        pytest.param("A", None, "POSTED", id="open"),
        pytest.param("B", None, "PAID", id="paid-in-full"),
        pytest.param("D", None, "DRAFT", id="pending-approval"),
        pytest.param("D", "MISSING_PO", "BLOCKED", id="pending-approval-with-reason"),
        pytest.param("V", None, "VOID", id="voided"),
        pytest.param("E", None, "VOID", id="rejected"),
    ],
)
def test_invoice_statuses(status: str, blocked: str | None, expected: str) -> None:
    row = invoice_row(status=status, custbody_blocked_reason=blocked)
    invoice = mapping.invoice_from(row, [], UI)
    assert invoice.status == expected
    assert invoice.blocked_reason == blocked


def test_an_invoice_row_reads_whole() -> None:
    invoice = mapping.invoice_from(invoice_row(custbody_paid_at="2024-09-20T08:00:00.000Z"), [], UI)
    assert invoice.model_dump() == {
        "id": "600001",
        "modified_at": dt.datetime(2024, 9, 1, 10, 0, 0, 250000, tzinfo=dt.UTC),
        "url": "http://erp.test/app/accounting/transactions/custinvc.nl?id=600001",
        "number": "INV-2024-000001",
        "customer_id": "101",
        "job_id": "20001",
        "status": "POSTED",
        "amount": Decimal("1250.50"),
        "currency": "EUR",
        "issue_date": dt.date(2024, 9, 1),
        "due_date": dt.date(2024, 10, 1),
        "paid_at": dt.datetime(2024, 9, 20, 8, tzinfo=dt.UTC),
        "blocked_reason": None,
    }


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(invoice_row(status="Z"), id="unknown-status"),
        pytest.param({k: v for k, v in invoice_row().items() if k != "entity"}, id="no-customer"),
        pytest.param(invoice_row(total="lots"), id="amount-not-a-number"),
        pytest.param(invoice_row(trandate="yesterday"), id="date-not-a-date"),
        pytest.param(invoice_row(lastmodifieddate="soon"), id="timestamp-not-a-timestamp"),
    ],
)
def test_malformed_rows_are_refused(row: dict[str, Any]) -> None:
    with pytest.raises(MalformedRowError):
        mapping.invoice_from(row, [], UI)


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        pytest.param({"custentity_credit_status": "WATCH"}, "WATCH", id="custom-field"),
        pytest.param({"creditholdoverride": "ON"}, "HOLD", id="hold-override-alone"),
        pytest.param({"creditholdoverride": "AUTO"}, None, id="no-credit-information"),
    ],
)
def test_customer_credit_status(row: dict[str, Any], expected: str | None) -> None:
    base = {"id": "101", "companyname": "Apex Bank", "externalid": "001A", "terms": "Net 30"}
    customer = mapping.customer_from({**base, **row}, [], UI)
    assert customer.credit_status == expected
    assert customer.crm_account_id == "001A"
    assert customer.payment_terms == "Net 30"
    assert customer.currency == "USD"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("In Progress", "ACTIVE", id="in-progress"),
        pytest.param("Closed", "COMPLETED", id="closed"),
        pytest.param("Awaiting Sign Off", "AWAITING_SIGN_OFF", id="account-specific"),
    ],
)
def test_job_statuses_are_read_by_name(name: str, expected: str) -> None:
    row = {"id": "20001", "parent": "101", "companyname": "Data Platform", "status": name}
    assert mapping.job_from(row, [], UI).status == expected


def test_billing_schedule_lines_come_from_their_sublist() -> None:
    row = {"id": "40001", "job": "20001", "scheduletype": "FBM"}
    lines = [
        {"billingschedule": "40001", "line": "1", "recurrencedate": "2024-03-31", "amount": "500"},
        {"billingschedule": "40001", "line": "2", "amount": "250.25", "milestone": "5000001"},
    ]
    schedule = mapping.billing_schedule_from(row, lines, UI)
    assert schedule.kind == "MILESTONE"
    assert schedule.lines == [
        BillingScheduleLine(date=dt.date(2024, 3, 31), amount=Decimal("500")),
        BillingScheduleLine(amount=Decimal("250.25"), milestone_id="5000001"),
    ]


def test_a_payment_applied_to_nothing_is_not_a_payment_record() -> None:
    row = {"id": "900001", "customer": "101", "payment": "10", "trandate": "2024-01-02"}
    assert mapping.payment_from(row, [], UI) is None
    payment = mapping.payment_from(row, [{"customerpayment": "900001", "doc": "600002"}], UI)
    assert payment is not None
    assert payment.invoice_id == "600002"


@pytest.mark.parametrize(
    ("base_url", "account", "expected"),
    [
        pytest.param(
            "https://1234567.suitetalk.api.netsuite.com",
            "1234567",
            "https://1234567.app.netsuite.com",
            id="production",
        ),
        pytest.param(
            "https://1234567-sb1.suitetalk.api.netsuite.com",
            "1234567_SB1",
            "https://1234567-sb1.app.netsuite.com",
            id="sandbox-account",
        ),
        pytest.param("http://127.0.0.1:8104/", "1234567", "http://127.0.0.1:8104", id="local"),
    ],
)
def test_deep_links_point_at_the_account_ui(base_url: str, account: str, expected: str) -> None:
    assert mapping.ui_base(base_url, account) == expected


REFS = {
    "term": {"Net 30": "2"},
    "currency": {"EUR": "2"},
    "department": {"Cloud": "3"},
    "location": {"EMEA": "2"},
}


def test_customer_body_writes_references_by_id() -> None:
    fields = {"name": "Apex", "payment_terms": "Net 30", "currency": "EUR", "credit_status": "HOLD"}
    assert mapping.customer_body(fields, REFS) == {
        "companyName": "Apex",
        "terms": {"id": "2"},
        "currency": {"id": "2"},
        "custentity_credit_status": "HOLD",
        "creditHoldOverride": {"id": "ON"},
    }
    assert mapping.lists_needed(mapping.CUSTOMER_FIELDS, fields) == {"term", "currency"}


def test_time_body_carries_dimensions_and_plain_json() -> None:
    fields = {
        "job_id": "20001",
        "hours": 7.5,
        "rate": Decimal("180.00"),
        "work_date": dt.date(2024, 5, 2),
        "practice": "Cloud",
        "region": "EMEA",
        "notes": None,
    }
    assert mapping.time_body(fields, REFS) == {
        "job": {"id": "20001"},
        "hours": 7.5,
        "rate": 180.0,
        "tranDate": "2024-05-02",
        "department": {"id": "3"},
        "location": {"id": "2"},
    }


@pytest.mark.parametrize(
    ("build", "error"),
    [
        pytest.param(
            lambda: mapping.customer_body({"payment_terms": "Net 99"}, REFS),
            mapping.UnknownReferenceError,
            id="unknown-term",
        ),
        pytest.param(
            lambda: mapping.customer_body({"nickname": "A"}, REFS), ValueError, id="unknown-field"
        ),
        pytest.param(
            lambda: mapping.job_body("101", {"status": "DONE"}, REFS),
            ValueError,
            id="unknown-job-status",
        ),
        pytest.param(
            lambda: mapping.billing_schedule_body("20001", "RETAINER", []),
            ValueError,
            id="unknown-schedule-kind",
        ),
        pytest.param(lambda: mapping.invoice_body("101", "20001", []), ValueError, id="no-lines"),
        pytest.param(lambda: InvoiceLine(), ValueError, id="line-billing-nothing"),
        pytest.param(
            lambda: InvoiceLine(time_posting_id="1", amount=Decimal(1)),
            ValueError,
            id="line-billing-both",
        ),
    ],
)
def test_bodies_refuse_what_netsuite_could_not_take(build: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        build()


def test_invoice_body_bills_time_by_timebill_and_amounts_as_items() -> None:
    body = mapping.invoice_body(
        "101",
        "20001",
        [
            InvoiceLine(time_posting_id="10000001"),
            InvoiceLine(amount=Decimal("99.95"), description="Travel"),
        ],
    )
    assert body == {
        "entity": {"id": "101"},
        "job": {"id": "20001"},
        "item": {"items": [{"description": "Travel", "amount": 99.95, "milestone": None}]},
        "time": {"items": [{"doc": {"id": "10000001"}, "apply": True}]},
    }


def test_external_ids_the_sandbox_seeds_and_the_connector_writes_agree() -> None:
    from sandboxes.erp import seed

    assert mapping.billing_schedule_external_id("20001") == seed.billing_schedule_external_id(
        "20001"
    )
