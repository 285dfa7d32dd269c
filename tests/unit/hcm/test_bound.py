"""What a read by ids may cost when the vendor has no batch-by-id."""

from __future__ import annotations

import pytest

from sources.hcm.connector import HcmConnector
from sources.hcm.snapshot import pages_for, request_bound
from tests.unit.hcm.conftest import settings


@pytest.mark.parametrize(
    ("n_ids", "total", "bound"),
    [
        pytest.param(0, 600, 0, id="nothing-to-read"),
        pytest.param(1, 600, 1, id="one-id"),
        pytest.param(5, 600, 5, id="few-ids-fan-out"),
        pytest.param(6, 600, 6, id="tie"),
        pytest.param(500, 600, 6, id="many-ids-read-the-population"),
        pytest.param(500, 601, 7, id="a-partial-last-page"),
        pytest.param(3, 0, 1, id="empty-tenant-still-one-page"),
        pytest.param(10_000, 100, 1, id="one-page-tenant"),
    ],
)
def test_a_read_costs_one_request_per_id_or_per_page_whichever_is_fewer(
    n_ids: int, total: int, bound: int
) -> None:
    assert request_bound(n_ids, total, page_size=100) == bound


def test_the_connector_states_its_bound_in_its_own_page_size() -> None:
    assert HcmConnector(settings()).request_bound(500, 600) == 6
    assert HcmConnector(settings(batch_size=50)).request_bound(500, 600) == 12
    assert HcmConnector(settings(batch_size=500)).request_bound(500, 600) == 6  # capped at 100


@pytest.mark.parametrize(
    ("total", "pages"),
    [
        pytest.param(0, 1, id="empty"),
        pytest.param(100, 1, id="exactly-one"),
        pytest.param(101, 2, id="one-over"),
    ],
)
def test_a_full_read_costs_a_request_per_page(total: int, pages: int) -> None:
    assert pages_for(total, 100) == pages
