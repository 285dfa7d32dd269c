"""Business exceptions: a step met data it must not work around (a project without a
finance code, an opportunity that is not won). Retrying cannot help until a person fixes
the data, so the step fails at once and the workflow parks as NEEDS_ATTENTION with the
reason, instead of dropping the work silently."""

from __future__ import annotations

from typing import Any

from gateway.store import Store

DATA_QUALITY = "data_quality"  # the audit action prefix of data-quality records


class BusinessError(Exception):
    """`code` says what is wrong (MISSING_FINANCE_CODE, NOT_CLOSED_WON, ...)."""

    retriable = False

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


async def record_data_quality(
    store: Store,
    *,
    code: str,
    system: str | None,
    object_type: str,
    object_id: str,
    details: Any,
    workflow_id: str,
    principal: str | None,
) -> None:
    """Leave a data-quality record in the audit log for whoever fixes the data.

    Written in its own transaction: the step that found the problem is about to fail,
    and the record must outlive that failure.
    """
    await store.audit.record(
        principal or "anonymous",
        f"{DATA_QUALITY}.{code.lower()}",
        system,
        object_type,
        object_id,
        None,
        details,
        workflow_id,
    )
