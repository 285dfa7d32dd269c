"""Project (PSA workspace + ERP job), its health, milestones, assignments and staffing."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry

from gateway.staffing_rank import Candidate
from resolvers import health, ids, links, staffing
from resolvers import projects as resolve
from resolvers.context import RequestContext
from resolvers.links import PSA
from schema.common import (
    Connection,
    FieldConflict,
    GatewayInfo,
    InvoiceStatus,
    MilestoneStatus,
    Money,
    Node,
    ProjectStatus,
    StaffingRequestStatus,
    SystemRef,
    TimeEntryStatus,
    answered_by_the_row,
    arg,
    at_once,
    conflicts,
    connection,
    context,
    described,
    enum_value,
    money,
    refs,
    selected,
)
from schema.shared_views import shared
from sources.records import Assignment as AssignmentRecord
from sources.records import Milestone as MilestoneRecord
from sources.records import Project as ProjectRecord
from sources.records import StaffingRequest as StaffingRequestRecord

ClientRef = Annotated["Client", strawberry.lazy("schema.clients")]
OpportunityRef = Annotated["Opportunity", strawberry.lazy("schema.clients")]
ResourceRef = Annotated["Resource", strawberry.lazy("schema.people")]
TimeEntryRef = Annotated["TimeEntry", strawberry.lazy("schema.timesheets")]
InvoiceRef = Annotated["Invoice", strawberry.lazy("schema.billing")]


@strawberry.type(description="A project: the PSA workspace, with its finance code from the ERP.")
class Project(Node):
    code: str | None
    name: str
    status: ProjectStatus
    practice: str | None
    region: str | None
    start_date: date | None
    end_date: date | None
    budget: Money | None
    record: strawberry.Private[ProjectRecord]

    @classmethod
    @shared()
    def of(cls, project: ProjectRecord) -> Project:
        return cls(
            id=strawberry.ID(ids.encode("Project", project.id)),
            code=project.code,
            name=project.name,
            status=enum_value(ProjectStatus, project.status, PSA),
            practice=project.practice,
            region=project.region,
            start_date=project.start_date,
            end_date=project.end_date,
            budget=money(project.budget, project.currency),
            record=project,
        )

    @described(
        "The ERP project/job id; null is a business exception "
        "(see health.risks MISSING_FINANCE_CODE)."
    )
    def finance_code(self, info: GatewayInfo) -> str | None:
        ctx = context(info)
        found = resolve.finance_code_if_read(ctx, self.record)
        return at_once(found, str, resolve.finance_code, ctx, self.record)

    @described("Null when the CRM cannot be reached.")
    def client(self, info: GatewayInfo) -> ClientRef | None:
        # Not `async` (see `at_once`), nor are `manager`, `financeCode` and `health`.
        ctx = context(info)
        return at_once(resolve.client_if_read(ctx, self.record), Client.of, self._client, ctx)

    async def _client(self, ctx: RequestContext) -> ClientRef | None:
        view = await resolve.client(ctx, self.record)
        return Client.of(view) if view is not None else None

    @strawberry.field
    async def opportunity(self, info: GatewayInfo) -> OpportunityRef | None:
        deal = await resolve.opportunity(context(info), self.record)
        return Opportunity.of(deal) if deal is not None else None

    @strawberry.field
    def manager(self, info: GatewayInfo) -> ResourceRef | None:
        ctx = context(info)
        return at_once(resolve.manager_if_read(ctx, self.record), Resource.of, self._manager, ctx)

    async def _manager(self, ctx: RequestContext) -> ResourceRef | None:
        view = await resolve.manager(ctx, self.record)
        return Resource.of(view) if view is not None else None

    @strawberry.field
    async def milestones(self, info: GatewayInfo) -> list[Milestone]:
        return [Milestone.of(m) for m in await resolve.milestones(context(info), self.record)]

    @strawberry.field
    async def assignments(self, info: GatewayInfo) -> list[Assignment]:
        found = await resolve.assignments(context(info), self.record)
        return [Assignment.of(a) for a in found]

    @strawberry.field
    async def staffing_requests(self, info: GatewayInfo) -> list[StaffingRequest]:
        found = await resolve.staffing_requests(context(info), self.record)
        return [StaffingRequest.of(r) for r in found]

    @described(
        "Paged by TIME, which filters one project at a time: under a list of "
        "projects this costs one request per project."
    )
    async def time_entries(
        self,
        info: GatewayInfo,
        first: int | None = None,
        after: str | None = None,
        status: TimeEntryStatus | None = None,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None,
    ) -> Connection[TimeEntryRef] | None:
        window = await resolve.time_entries(
            context(info),
            self.record,
            first,
            after,
            status=arg(status),
            date_from=from_,
            date_to=to,
        )
        return connection(window, TimeEntry.of)

    @strawberry.field
    async def invoices(
        self,
        info: GatewayInfo,
        first: int | None = None,
        after: str | None = None,
        status: InvoiceStatus | None = None,
    ) -> Connection[InvoiceRef] | None:
        window = await resolve.invoices(context(info), self.record, first, after, arg(status))
        return connection(window, Invoice.of)

    @described("Derived across PSA, TIME, ERP and HCM.")
    def health(self, info: GatewayInfo) -> ProjectHealth:
        ctx, figures = context(info), selected(info)
        ready = health.facts_if_read(ctx, self.record, figures)
        if ready is not None:
            return ProjectHealth(facts=ready)
        return self._health(ctx, figures)  # type: ignore[return-value]

    async def _health(self, ctx: RequestContext, figures: frozenset[str]) -> ProjectHealth:
        return ProjectHealth(facts=await health.facts(ctx, self.record, figures))

    @described(
        "The project's id in each system; a system that cannot be reached is "
        "left out and named in the response's errors."
    )
    async def system_refs(self, info: GatewayInfo) -> list[SystemRef]:
        ctx = context(info)
        found = await resolve.system_refs(ctx, self.record, ctx.reporter(info.path.as_list()))
        return refs(found)

    @described("Where PSA and the ERP disagree about this project.")
    async def conflicts(self, info: GatewayInfo) -> list[FieldConflict] | None:
        return conflicts(await resolve.conflicts(context(info), self.record))


# The fields a project row answers from its own record, reading nothing more.
ANSWERED_BY_THE_ROW = answered_by_the_row(Project)


@strawberry.type(
    description="Each figure reads only the systems it needs: one that cannot be reached "
    "nulls only the figures that depend on it."
)
class ProjectHealth:
    facts: strawberry.Private[health.HealthFacts]

    @described("Share of the budget consumed by billable time and expenses.")
    def budget_burn(self) -> float | None:
        return self.facts.budget_burn()

    @strawberry.field
    def hours_approved(self) -> float | None:
        return self.facts.hours_approved()

    @described("Approved, not yet invoiced.")
    def hours_unbilled(self) -> float | None:
        return self.facts.hours_unbilled()

    @strawberry.field
    def unbilled_amount(self) -> Money | None:
        return Money.of(self.facts.unbilled_amount())

    @strawberry.field
    def invoiced_amount(self) -> Money | None:
        return Money.of(self.facts.invoiced_amount())

    @described("Estimated from the team's blended cost rate.")
    def margin(self) -> float | None:
        return self.facts.margin()

    @strawberry.field
    def billing_ready(self) -> bool | None:
        return self.facts.billing_ready()

    @described(
        "MISSING_FINANCE_CODE, NO_BILLING_SCHEDULE, FINANCE_CODE_MISMATCH, "
        "OVER_BUDGET, UNBILLED_TIME_ON_CLOSED_PROJECT."
    )
    def risks(self) -> list[str] | None:
        return self.facts.risks()


@strawberry.type
class Milestone(Node):
    name: str
    due_date: date | None
    status: MilestoneStatus
    amount: Money | None
    completed_at: datetime | None
    record: strawberry.Private[MilestoneRecord]

    @classmethod
    def of(cls, milestone: MilestoneRecord) -> Milestone:
        return cls(
            id=strawberry.ID(ids.encode("Milestone", milestone.id)),
            name=milestone.name,
            due_date=milestone.due_date,
            status=enum_value(MilestoneStatus, milestone.status, PSA),
            amount=money(milestone.amount, milestone.currency),
            completed_at=milestone.completed_at,
            record=milestone,
        )

    @strawberry.field
    async def project(self, info: GatewayInfo) -> Project:
        return await _project(info, self.record.project_id, f"milestone {self.record.id}")

    @described("The ERP invoice that bills it, once billed.")
    async def invoice(self, info: GatewayInfo) -> InvoiceRef | None:
        found = await resolve.milestone_invoice(context(info), self.record)
        return Invoice.of(found) if found is not None else None


@strawberry.type
class Assignment(Node):
    role: str | None
    hours_per_week: float | None
    start_date: date | None
    end_date: date | None
    record: strawberry.Private[AssignmentRecord]

    @classmethod
    def of(cls, assignment: AssignmentRecord) -> Assignment:
        return cls(
            id=strawberry.ID(ids.encode("Assignment", assignment.id)),
            role=assignment.role,
            hours_per_week=assignment.hours_per_week,
            start_date=assignment.start_date,
            end_date=assignment.end_date,
            record=assignment,
        )

    @described("Null when HCM cannot be reached.")
    async def resource(self, info: GatewayInfo) -> ResourceRef | None:
        view = await links.resource_of_psa_user(context(info), self.record.user_id)
        return Resource.of(view) if view is not None else None

    @strawberry.field
    async def project(self, info: GatewayInfo) -> Project:
        return await _project(info, self.record.project_id, f"assignment {self.record.id}")


@strawberry.type
class StaffingRequest(Node):
    role: str
    skills: list[str]
    hours_per_week: float | None
    start_date: date | None
    status: StaffingRequestStatus
    record: strawberry.Private[StaffingRequestRecord]

    @classmethod
    def of(cls, request: StaffingRequestRecord) -> StaffingRequest:
        return cls(
            id=strawberry.ID(ids.encode("StaffingRequest", request.id)),
            role=request.role,
            skills=list(request.skills),
            hours_per_week=request.hours_per_week,
            start_date=request.start_date,
            status=enum_value(StaffingRequestStatus, request.status, PSA),
            record=request,
        )

    @strawberry.field
    async def project(self, info: GatewayInfo) -> Project:
        return await _project(info, self.record.project_id, f"staffing request {self.record.id}")

    @strawberry.field
    async def assigned_resource(self, info: GatewayInfo) -> ResourceRef | None:
        view = await links.resource_of_psa_user(context(info), self.record.assigned_user_id)
        return Resource.of(view) if view is not None else None

    @described(
        "Active people who could fill the request, best first: ranked by skill match, "
        "free hours over the request's window and recent utilization (docs/staffing.md)."
    )
    async def candidates(
        self, info: GatewayInfo, first: int | None = None
    ) -> list[StaffingCandidate]:
        found = await staffing.candidates(context(info), self.record, first)
        return [StaffingCandidate.of(c) for c in found]


@strawberry.type
class StaffingCandidate:
    skill_match: float
    available_hours_per_week: float
    utilization: float | None
    score: float
    candidate: strawberry.Private[Candidate]

    @classmethod
    def of(cls, candidate: Candidate) -> StaffingCandidate:
        return cls(
            skill_match=candidate.skill_match,
            available_hours_per_week=candidate.available_hours_per_week,
            utilization=candidate.utilization,
            score=candidate.score,
            candidate=candidate,
        )

    @strawberry.field
    def resource(self) -> ResourceRef:
        worker = self.candidate.worker
        return Resource.of(links.ResourceView(worker.id, worker))


async def _project(info: GatewayInfo, project_id: str, holder: str) -> Project:
    found = await resolve.project(context(info), project_id)
    if found is None:
        raise links.dangling(PSA, f"{holder} names project {project_id}")
    return Project.of(found)


# Below the classes: these modules and this one refer to one another's types, and a row's
# field imported them on every call (~1 µs each, a few per row on a 1,000-row board).
from schema.billing import Invoice  # noqa: E402
from schema.clients import Client, Opportunity  # noqa: E402
from schema.people import Resource  # noqa: E402
from schema.timesheets import TimeEntry  # noqa: E402
