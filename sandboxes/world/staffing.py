"""Who works on what: assignments to projects, and the staffing requests behind them."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta

from sandboxes.world import ids
from sandboxes.world.clock import Clock
from sandboxes.world.model import Assignment, Person, Project, StaffingRequest
from sandboxes.world.names import PRACTICE_ROLES, PROJECT_MANAGER_ROLE, ROLE_SKILLS

HOURS_PER_WEEK = (16.0, 20.0, 24.0, 32.0, 40.0)
HOURS_WEIGHTS = (15, 20, 15, 20, 30)
PROJECT_MANAGER_HOURS = 8.0
OPEN_PROJECT_STATUSES = frozenset({"PLANNED", "ACTIVE", "ON_HOLD"})
# Share of assignments that were staffed through a request (the rest were direct picks).
REQUESTED_SHARE = 0.3


def build_assignments(
    rng: random.Random, projects: Sequence[Project], people: Sequence[Person]
) -> tuple[Assignment, ...]:
    """The project manager for the whole project, and one to five others who fit their role."""
    candidates: dict[tuple[str, str], list[int]] = {}
    for person in people:
        for role, skills in PRACTICE_ROLES[person.practice].items():
            if not set(skills).isdisjoint(person.skills):
                candidates.setdefault((person.practice, role), []).append(person.key)

    assignments: list[Assignment] = []

    def assign(
        project: Project, person_key: int, role: str, hours: float, start: date, end: date
    ) -> None:
        key = len(assignments)
        assignments.append(
            Assignment(
                key=key,
                project_key=project.key,
                person_key=person_key,
                role=role,
                hours_per_week=hours,
                start_date=start,
                end_date=end,
                psa_id=ids.numeric(ids.PSA_PARTICIPATION, key),
            )
        )

    for project in projects:
        assign(
            project,
            project.manager_key,
            PROJECT_MANAGER_ROLE,
            PROJECT_MANAGER_HOURS,
            project.start_date,
            project.end_date,
        )
        on_project = {project.manager_key}
        roles = [r for r in PRACTICE_ROLES[project.practice] if (project.practice, r) in candidates]
        for _ in range(rng.randint(1, 5)):
            role = rng.choice(roles)
            free = [k for k in candidates[(project.practice, role)] if k not in on_project]
            if not free:
                continue
            person_key = rng.choice(free)
            on_project.add(person_key)
            start, end = _stint(rng, project)
            hours = rng.choices(HOURS_PER_WEEK, HOURS_WEIGHTS)[0]
            assign(project, person_key, role, hours, start, end)
    return tuple(assignments)


def _stint(rng: random.Random, project: Project) -> tuple[date, date]:
    """Most people stay for the whole project; some join late or leave early."""
    span = (project.end_date - project.start_date).days
    start, end = project.start_date, project.end_date
    if rng.random() < 0.3:
        start += timedelta(days=rng.randint(0, span * 2 // 5))
    if rng.random() < 0.3:
        end -= timedelta(days=rng.randint(0, (end - start).days * 2 // 5))
    return start, end


def build_staffing_requests(
    rng: random.Random,
    projects: Sequence[Project],
    people: Sequence[Person],
    assignments: Sequence[Assignment],
    clock: Clock,
) -> tuple[StaffingRequest, ...]:
    """Filled requests behind some assignments, open ones on running or planned projects,
    and a few cancelled ones."""
    requests: list[StaffingRequest] = []

    def request(
        project: Project,
        role: str,
        skills: tuple[str, ...],
        hours: float,
        start: date,
        status: str,
        person_key: int | None,
    ) -> None:
        key = len(requests)
        requests.append(
            StaffingRequest(
                key=key,
                project_key=project.key,
                role=role,
                skills=skills,
                hours_per_week=hours,
                start_date=start,
                status=status,
                assigned_person_key=person_key,
                psa_id=ids.numeric(ids.PSA_STAFFING_REQUEST, key),
            )
        )

    by_project: dict[int, list[Assignment]] = {}
    for assignment in assignments:
        by_project.setdefault(assignment.project_key, []).append(assignment)

    for project in projects:
        for assignment in by_project.get(project.key, ()):
            if assignment.role != PROJECT_MANAGER_ROLE and rng.random() < REQUESTED_SHARE:
                person = people[assignment.person_key]
                request(
                    project,
                    assignment.role,
                    _wanted_skills(rng, assignment.role, person.skills),
                    assignment.hours_per_week,
                    assignment.start_date,
                    "FILLED",
                    assignment.person_key,
                )
        roles = tuple(PRACTICE_ROLES[project.practice])
        if project.status in OPEN_PROJECT_STATUSES:
            for _ in range(rng.choices((0, 1, 2), (40, 40, 20))[0]):
                role = rng.choice(roles)
                wanted = max(project.start_date, clock.today + timedelta(days=rng.randint(0, 45)))
                request(
                    project,
                    role,
                    _wanted_skills(rng, role),
                    rng.choices(HOURS_PER_WEEK, HOURS_WEIGHTS)[0],
                    min(wanted, project.end_date),
                    "OPEN",
                    None,
                )
        if rng.random() < 0.05:
            role = rng.choice(roles)
            request(
                project,
                role,
                _wanted_skills(rng, role),
                rng.choices(HOURS_PER_WEEK, HOURS_WEIGHTS)[0],
                project.start_date,
                "CANCELLED",
                None,
            )
    return tuple(requests)


def _wanted_skills(
    rng: random.Random, role: str, held: tuple[str, ...] | None = None
) -> tuple[str, ...]:
    """One or two of the role's skills; for a filled request, ones its person holds."""
    skills = ROLE_SKILLS[role]
    if held is not None:
        skills = tuple(s for s in skills if s in held)
    return tuple(sorted(rng.sample(skills, rng.randint(1, min(2, len(skills))))))


OVERBOOKING_HORIZON_WEEKS = 26  # how far ahead a booking over capacity counts


def overbooked_people(
    people: Sequence[Person], assignments: Sequence[Assignment], today: date
) -> frozenset[int]:
    """Keys of the people whose bookings, in some week from `today`'s on, add up to more
    than their weekly capacity: people are assigned by fit, not by free time, so some are
    booked over. A week counts a booking that overlaps it at all."""
    first_monday = today - timedelta(days=today.weekday())
    horizon = today + timedelta(weeks=OVERBOOKING_HORIZON_WEEKS)
    mondays = []
    monday = first_monday
    while monday <= horizon:
        mondays.append(monday)
        monday += timedelta(days=7)
    current: dict[int, list[Assignment]] = {}
    for assignment in assignments:
        if assignment.end_date >= today:
            current.setdefault(assignment.person_key, []).append(assignment)
    over = set()
    for person_key, held in current.items():
        capacity = people[person_key].weekly_capacity_hours
        for monday in mondays:
            sunday = monday + timedelta(days=6)
            hours = sum(
                a.hours_per_week for a in held if a.start_date <= sunday and a.end_date >= monday
            )
            if hours > capacity:
                over.add(person_key)
                break
    return frozenset(over)
