"""The firm's people: grades per practice, one reporting tree, skills, locations and rates."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from sandboxes.world import ids
from sandboxes.world.clock import Clock
from sandboxes.world.model import Person
from sandboxes.world.names import (
    FIRM_DOMAIN,
    FIRST_NAMES,
    GRADES,
    LAST_NAMES,
    LOCATION_WEIGHTS,
    LOCATIONS,
    MANAGER_GRADES,
    MANAGING_PARTNER,
    PRACTICE_CODES,
    PRACTICE_SKILLS,
    PRACTICES,
    PROJECT_MANAGEMENT,
    REGION_CODES,
    USD_PER_UNIT,
)

# The managing partner, the firm's one root, sits in the first practice.
_TOP_GRADE = -1


def build_people(rng: random.Random, count: int, clock: Clock) -> tuple[Person, ...]:
    """`count` people (at least one per practice plus the managing partner).

    Keys run from the most senior grade down, and everyone reports to someone more senior
    in their practice (practice heads to the managing partner), so `manager_key` is always
    a smaller key and the reporting lines form one tree.
    """
    count = max(count, 2 * len(PRACTICES) + 1)
    staff = [(_TOP_GRADE, PRACTICES[0]), *_grades_per_practice(rng, count - 1)]
    # Seniority first; within a grade, practice heads (drawn first) keep their lead.
    staff.sort(key=lambda grade_practice: grade_practice[0])

    names = _NamePool(rng)
    wids: set[str] = set()
    by_practice_grade: dict[tuple[str, int], list[int]] = {}
    skill_turn = dict.fromkeys(PRACTICES, 0)
    people: list[Person] = []
    for key, (grade, practice) in enumerate(staff):
        first, last, email = names.draw()
        manager_key = _manager(rng, key, grade, practice, by_practice_grade)
        by_practice_grade.setdefault((practice, grade), []).append(key)
        city, region, currency = rng.choices(LOCATIONS, LOCATION_WEIGHTS)[0]
        title = MANAGING_PARTNER if grade == _TOP_GRADE else GRADES[grade][0]
        cost_rate, bill_rate = _rates(rng, grade, currency)
        people.append(
            Person(
                key=key,
                name=f"{first} {last}",
                email=email,
                title=title,
                practice=practice,
                location=city,
                cost_center=f"{PRACTICE_CODES[practice]}-{REGION_CODES[region]}",
                skills=_skills(rng, practice, title, skill_turn),
                cost_rate=cost_rate,
                bill_rate=bill_rate,
                currency=currency,
                manager_key=manager_key,
                hcm_id=ids.workday_id(rng, wids),
                psa_user_id=ids.numeric(ids.PSA_USER, key),
                time_user_id=ids.numeric(ids.TIME_USER, key),
                weekly_capacity_hours=rng.choices((40.0, 32.0, 20.0), (85, 10, 5))[0],
                modified_at=clock.moment_between(
                    rng, clock.today - timedelta(days=700), clock.today
                ),
            )
        )
    return tuple(people)


def _grades_per_practice(rng: random.Random, count: int) -> list[tuple[int, str]]:
    """(grade index, practice) per person: each practice headed by a partner, a pyramid below."""
    weights = [share for _title, share, _rates in GRADES]
    staff: list[tuple[int, str]] = []
    for i, practice in enumerate(PRACTICES):
        size = count // len(PRACTICES) + (1 if i < count % len(PRACTICES) else 0)
        staff.append((0, practice))
        grades = rng.choices(range(len(GRADES)), weights, k=size - 1)
        staff.extend((grade, practice) for grade in grades)
    return staff


def _manager(
    rng: random.Random,
    key: int,
    grade: int,
    practice: str,
    by_practice_grade: dict[tuple[str, int], list[int]],
) -> int | None:
    if key == 0:
        return None
    # The nearest more senior grade present in the practice, or else the managing partner.
    for senior in range(grade - 1, _TOP_GRADE, -1):
        seniors = by_practice_grade.get((practice, senior))
        if seniors:
            return seniors[0] if senior == 0 else rng.choice(seniors)
    partners = by_practice_grade.get((practice, grade), [])
    if grade == 0 and partners:
        return partners[0]  # the practice head
    return 0


def _skills(
    rng: random.Random, practice: str, title: str, skill_turn: dict[str, int]
) -> tuple[str, ...]:
    pool = PRACTICE_SKILLS[practice]
    # Hand each practice's skills out in turn first, so every skill has someone.
    primary = pool[skill_turn[practice] % len(pool)]
    skill_turn[practice] += 1
    skills = {primary, *rng.sample(pool, rng.randint(1, 3))}
    if title == MANAGING_PARTNER or title in MANAGER_GRADES:
        skills.add(PROJECT_MANAGEMENT)
    return tuple(sorted(skills))


def _rates(rng: random.Random, grade: int, currency: str) -> tuple[Decimal, Decimal]:
    low, high = GRADES[max(grade, 0)][2]
    cost_usd = rng.randint(low, high) + (40 if grade == _TOP_GRADE else 0)
    cost = round(Decimal(cost_usd) / USD_PER_UNIT[currency])
    # Bill rates are quoted in steps of 5, at 1.8 to 2.6 times cost.
    bill = round(cost * Decimal(rng.uniform(1.8, 2.6)) / 5) * 5
    return Decimal(cost), Decimal(bill)


class _NamePool:
    """Person names, and work emails that stay unique when two people share a name."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._emails: set[str] = set()

    def draw(self) -> tuple[str, str, str]:
        first, last = self._rng.choice(FIRST_NAMES), self._rng.choice(LAST_NAMES)
        local = f"{first}.{last}".lower()
        email, n = f"{local}@{FIRM_DOMAIN}", 1
        while email in self._emails:
            n += 1
            email = f"{local}{n}@{FIRM_DOMAIN}"
        self._emails.add(email)
        return first, last, email
