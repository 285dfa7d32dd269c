"""Seeding the PSA sandbox: the world's projects, milestones, assignments, staffing
requests and people as Kantata workspaces, milestone stories, participations, resource
requests and users, each under its PSA id."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from sandboxes.psa.tables import WORKSPACE_STATUS, Row, Table, empty_tables, stamp
from sandboxes.world.model import World

REQUEST_STATUS = {"OPEN": "open", "FILLED": "filled", "CANCELLED": "cancelled"}


def seed_tables(world: World) -> dict[str, Table]:
    tables = empty_tables()
    _fill(tables["users"], _users(world))
    _fill(tables["workspaces"], _workspaces(world))
    _fill(tables["stories"], _stories(world))
    _fill(tables["participations"], _participations(world))
    _fill(tables["resource_requests"], _resource_requests(world))
    return tables


def _fill(table: Table, rows: Iterable[Row]) -> None:
    for row in rows:
        table.rows[row["id"]] = row


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _users(world: World) -> Iterable[Row]:
    for person in world.people:
        yield {
            "id": person.psa_user_id,
            "full_name": person.name,
            "email_address": person.email,
            "headline": person.title,
            "employee_number": person.hcm_id,
            "created_at": stamp(person.modified_at),
            "updated_at": stamp(person.modified_at),
        }


def _workspaces(world: World) -> Iterable[Row]:
    for project in world.projects:
        manager = world.people[project.manager_key].psa_user_id
        opened = dt.datetime.combine(project.start_date, dt.time(), dt.UTC)
        created = min(_aware(project.modified_at), opened - dt.timedelta(days=14))
        yield {
            "id": project.psa_id,
            "title": project.name,
            "description": f"{world.clients[project.client_key].name}: {project.name}",
            "status": WORKSPACE_STATUS[project.status],
            "archived": project.status in ("COMPLETED", "CANCELLED"),
            "start_date": project.start_date.isoformat(),
            "due_date": project.end_date.isoformat(),
            "price_in_cents": _cents(project.budget),
            "currency": project.currency,
            "creator_id": manager,
            "primary_maintainer_id": manager,
            "crm_opportunity_id": world.opportunities[project.opportunity_key].crm_id,
            "crm_account_id": world.clients[project.client_key].crm_id,
            "erp_job_id": project.erp_job_id,
            "project_code": project.code,
            "practice": project.practice,
            "region": project.region,
            "created_at": stamp(created),
            "updated_at": stamp(project.modified_at),
        }


def _stories(world: World) -> Iterable[Row]:
    for milestone in world.milestones:
        project = world.projects[milestone.project_key]
        if milestone.status == "OPEN":
            state = "started" if milestone.due_date <= world.today else "not started"
        else:
            state = "completed"
        yield {
            "id": milestone.psa_id,
            "title": milestone.name,
            "workspace_id": project.psa_id,
            "story_type": "milestone",
            "parent_id": None,
            "due_date": milestone.due_date.isoformat(),
            "state": state,
            "billed": milestone.status == "BILLED",
            "budget_estimate_in_cents": _cents(milestone.amount),
            "completed_at": stamp(milestone.completed_at) if milestone.completed_at else None,
            "created_at": stamp(project.modified_at),
            "updated_at": stamp(milestone.modified_at),
        }


def _participations(world: World) -> Iterable[Row]:
    for assignment in world.assignments:
        project = world.projects[assignment.project_key]
        yield {
            "id": assignment.psa_id,
            "workspace_id": project.psa_id,
            "user_id": world.people[assignment.person_key].psa_user_id,
            "role": assignment.role,
            "hours_per_week": assignment.hours_per_week,
            "start_date": assignment.start_date.isoformat(),
            "end_date": assignment.end_date.isoformat(),
            "created_at": stamp(project.modified_at),
            "updated_at": stamp(project.modified_at),
        }


def _resource_requests(world: World) -> Iterable[Row]:
    for request in world.staffing_requests:
        project = world.projects[request.project_key]
        assigned = request.assigned_person_key
        yield {
            "id": request.psa_id,
            "workspace_id": project.psa_id,
            "role": request.role,
            "skills": list(request.skills),
            "hours_per_week": request.hours_per_week,
            "start_date": request.start_date.isoformat(),
            "status": REQUEST_STATUS[request.status],
            "assigned_user_id": world.people[assigned].psa_user_id
            if assigned is not None
            else None,
            "external_reference": None,
            "created_at": stamp(project.modified_at),
            "updated_at": stamp(project.modified_at),
        }


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
