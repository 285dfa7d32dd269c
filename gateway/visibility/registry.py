"""Every detector, one per exception kind."""

from __future__ import annotations

from gateway.visibility.detectors import (
    billing_schedule,
    blocked_invoices,
    closed_project_time,
    degraded_sources,
    duplicate_customers,
    finance_code,
    parked_workflows,
    resource_conflicts,
    staffing_requests,
    unposted_time,
)
from gateway.visibility.detectors.base import Detector

DETECTORS: tuple[Detector, ...] = (
    finance_code.DETECTOR,
    billing_schedule.DETECTOR,
    closed_project_time.DETECTOR,
    unposted_time.DETECTOR,
    duplicate_customers.DETECTOR,
    blocked_invoices.DETECTOR,
    staffing_requests.DETECTOR,
    resource_conflicts.DETECTOR,
    parked_workflows.DETECTOR,
    degraded_sources.DETECTOR,
)
