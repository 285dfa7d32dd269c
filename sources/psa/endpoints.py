"""Which Kantata endpoint serves each canonical entity, and how its filters are spelled.

A filter on a list of ids becomes one comma list (`workspace_id=1,2,3`), so "the
milestones of these 200 projects" is one request per page. Past the batch limit the list
is split into chunks, and the listing pages through each chunk in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from sources.psa.mapping import request_statuses, status_keys

Params = dict[str, str]


def _values(value: Any) -> list[str]:
    if isinstance(value, str | int):
        return [str(value)]
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    raise ValueError(f"not a filter value: {value!r}")


def _one(value: Any) -> list[str]:
    if not isinstance(value, str):
        raise ValueError(f"expected a single text value, got {value!r}")
    return [value]


@dataclass(frozen=True)
class Param:
    """A Kantata query parameter a canonical filter maps to."""

    name: str
    encode: Callable[[Any], list[str]] = _values
    ids: bool = False  # a list of ids that may be split across requests


@dataclass(frozen=True)
class Endpoint:
    key: str  # "workspaces": the path and the envelope's map key
    singular: str  # "workspace": the write body key and the event-type prefix
    scope: Mapping[str, str] = field(default_factory=dict)  # sent with every read
    filters: Mapping[str, Param] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"/api/v1/{self.key}.json"

    def member_path(self, record_id: str) -> str:
        # Escaped so an id can never reach another path: ids are checked upstream too.
        return f"/api/v1/{self.key}/{quote(record_id, safe='')}.json"

    def event_types(self) -> str:
        return ",".join(f"{self.singular}:{action}" for action in ("created", "updated", "deleted"))

    def queries(self, filters: Mapping[str, Any], chunk_size: int) -> list[Params]:
        """The query params of each chunk of a listing; [] when a filter matches nothing.

        Raises ValueError for a filter this entity does not have.
        """
        unknown = set(filters) - set(self.filters)
        if unknown:
            raise ValueError(f"{self.key} cannot be filtered by {', '.join(sorted(unknown))}")
        params: Params = dict(self.scope)
        split: tuple[str, list[str]] | None = None
        for name, value in filters.items():
            param = self.filters[name]
            values = param.encode(value)
            if not values:
                return []
            if param.ids and len(values) > chunk_size:
                if split is not None:
                    raise ValueError("at most one id-list filter may exceed the batch limit")
                split = (param.name, values)
            else:
                params[param.name] = ",".join(values)
        if split is None:
            return [params]
        name, values = split
        return [
            {**params, name: ",".join(values[i : i + chunk_size])}
            for i in range(0, len(values), chunk_size)
        ]


def _project_statuses(value: Any) -> list[str]:
    return status_keys(_values(value))


def _request_statuses(value: Any) -> list[str]:
    return request_statuses(_values(value))


def _ids(name: str) -> Param:
    return Param(name, ids=True)


BY_PROJECT = {"project_id": _ids("workspace_id")}

ENDPOINTS: Mapping[str, Endpoint] = {
    "project": Endpoint(
        "workspaces",
        "workspace",
        # Completed and cancelled workspaces are archived; Kantata hides them by default.
        scope={"include_archived": "true"},
        filters={
            "status": Param("status", _project_statuses),
            "search": Param("search", _one),
            "crm_account_id": _ids("crm_account_id"),
            "crm_opportunity_id": _ids("crm_opportunity_id"),
            "erp_job_id": _ids("erp_job_id"),
            "code": _ids("project_code"),
            "practice": Param("practice", _one),
            "region": Param("region", _one),
        },
    ),
    "milestone": Endpoint(
        "stories",
        "story",
        # The workspace brings the currency that stories lack.
        scope={"story_type": "milestone", "include": "workspace"},
        filters=BY_PROJECT,
    ),
    "assignment": Endpoint(
        "participations",
        "participation",
        filters={**BY_PROJECT, "user_id": _ids("user_id")},
    ),
    "staffing_request": Endpoint(
        "resource_requests",
        "resource_request",
        filters={
            **BY_PROJECT,
            "status": Param("status", _request_statuses),
            "assigned_user_id": _ids("assigned_user_id"),
            "external_ref": Param("external_reference", _one),
        },
    ),
    "user": Endpoint("users", "user", filters={"search": Param("search", _one)}),
}


def endpoint(entity: str) -> Endpoint:
    try:
        return ENDPOINTS[entity]
    except KeyError:
        raise ValueError(f"PSA has no entity {entity!r}") from None


def chunks(ids: Sequence[str], size: int) -> list[Sequence[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]
