"""Institution caps divided among the court's slots of work, so all workers together hold them."""

from __future__ import annotations

import pytest

from assetquery import ConfigurationError
from assetquery.worker._caps import share_caps

from .. import samples


def test_each_slot_gets_its_share_of_every_cap_and_together_they_hold_it() -> None:
    settings = samples.settings(concurrency=10, rate_limit=8.0)
    shared = share_caps(settings, 4)
    for before, after in zip(settings.institutions, shared.institutions, strict=True):
        assert after.concurrency == 2 and 4 * after.concurrency <= before.concurrency
        assert after.rate_limit == pytest.approx(2.0)
        assert after.id == before.id and after.base_url == before.base_url


def test_an_institution_with_fewer_slots_than_the_court_is_refused_with_the_way_out() -> None:
    settings = samples.settings(concurrency=3)
    with pytest.raises(ConfigurationError, match=r"lower worker\.slots to 3"):
        share_caps(settings, 4)
