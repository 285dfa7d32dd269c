"""How big a chaos run is: `small` for the test suite (about a minute and a half),
`full` for `make chaos` (about five minutes)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    deals: int  # won deals; each is started from both gateways, with two keys
    time_batches: int  # approveTimeEntries starts, each also sent to the other gateway
    run_s: float  # how long the faults last
    outage_s: float  # the ERP's total outage within it
    error_rate: float = 0.3  # every source, the whole run
    storm_s: float = 5.0  # each 429 storm (Retry-After)
    settle_s: float = 240.0  # after the faults, for workflows to settle and events to arrive
    scenario_interval_s: float = 1.0


SIZES = {
    "small": Size(deals=6, time_batches=3, run_s=26.0, outage_s=8.0, settle_s=120.0),
    # 60 deals started three times (two keys, one replayed) and 25 batches approved
    # twice: 230 starts in all.
    "full": Size(deals=60, time_batches=25, run_s=180.0, outage_s=120.0, settle_s=300.0),
}
