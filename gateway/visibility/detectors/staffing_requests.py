"""STAFFING_REQUEST_UNASSIGNED: a PSA staffing request still open past its start date."""

from __future__ import annotations

from gateway.visibility.detectors.base import Detector, ScanContext
from gateway.visibility.findings import ExceptionKind, Finding
from sources.records import SourceSystem, StaffingRequest

KIND = ExceptionKind.STAFFING_REQUEST_UNASSIGNED


async def detect(ctx: ScanContext) -> list[Finding]:
    requests = await ctx.view.listing(SourceSystem.PSA, "staffing_request", {"status": "OPEN"})
    return [
        Finding(
            KIND,
            "StaffingRequest",
            request.id,
            SourceSystem.PSA,
            f"Staffing request for a {request.role} was due to start on {request.start_date} "
            "and nobody is assigned",
            "Fill the request (fillStaffingRequest) or move its start date",
            None,
            None,
            None,
        )
        for request in requests
        if isinstance(request, StaffingRequest)
        and request.status == "OPEN"
        and request.assigned_user_id is None
        and request.start_date is not None
        and request.start_date < ctx.today
    ]


DETECTOR = Detector(
    KIND,
    detect,
    reads=frozenset({(SourceSystem.PSA, "staffing_request")}),
    needs=frozenset({SourceSystem.PSA}),
)
