"""What destination-coperniq counts as a match of an unlinked customer (unlinked_customers: upsert)."""

from __future__ import annotations

import pytest

from mapping.coperniq_targets import same_match_value


@pytest.mark.parametrize(("match_by", "a", "b", "same"), [
    ("title", "Smith  Residence", "smith residence", True),
    ("title", "Smith Residence", "Smith Residence 2", False),
    ("title", "", "", False),
    ("primaryEmail", "Pat@Home.example", "pat@home.example", True),
    ("primaryPhone", "(512) 555-0142", "512.555.0142", True),
    ("address", ["12 Oak St, Austin, TX 78701"], "12 Oak St Austin TX 78701", True),
    ("address", ["12 Oak St, Austin, TX 78701"], ["14 Oak St, Austin, TX 78701"], False),
    ("address", None, None, False),
])
def test_values_match_the_way_coperniq_compares_them(match_by: str, a: object, b: object, same: bool) -> None:
    assert same_match_value(match_by, a, b) is same
