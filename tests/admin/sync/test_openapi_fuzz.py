"""docs/openapi.yaml is valid and the real admin server keeps to it under fuzzing.

Schemathesis generates requests from the spec (bounded: a few dozen per
operation) and sends them to the admin on loopback with a real device token;
every answer must match the documented status codes and schemas and never be
a 5xx. Afterwards the database holds only what valid requests stored.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from sqlalchemy.engine import Engine
from synckit import Venue, count

SPEC = Path(__file__).resolve().parents[3] / "docs" / "openapi.yaml"
EXAMPLES = 25


def _operations() -> list[str]:
    schema = schemathesis.openapi.from_path(SPEC)
    return [op.ok().label for op in schema.get_all_operations()]


def test_spec_lists_every_api_route(live_admin) -> None:
    documented = {label.split(" ", 1)[1] for label in _operations()}
    routes = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(rule.rule))
        for rule in live_admin.app.url_map.iter_rules()
        if str(rule.rule).startswith("/api/")
    }
    assert routes == documented


@pytest.mark.slow
@pytest.mark.parametrize("label", _operations())
def test_admin_keeps_to_the_spec_under_fuzzing(
    label: str, live_admin, engine: Engine, venue: Venue
) -> None:
    live_admin.app.config.update(
        API_ENROLL_PER_MINUTE=10_000, API_POLLS_PER_MINUTE=10_000, API_EVENTS_PER_MINUTE=10_000
    )
    schema = schemathesis.openapi.from_path(SPEC)
    operation = schema.find_operation_by_label(label)
    assert operation is not None
    headers = {"Authorization": f"Bearer {venue.token}"}
    # The spec gives each event's shape, not every rule of porchlight/events.py
    # (time zones, per-type data): a schema-shaped event may still get 422.
    excluded = [positive_data_acceptance] if label.endswith("/events") else []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def check(case: schemathesis.Case) -> None:
        response = case.call(base_url=live_admin.url, headers=headers, timeout=10)
        assert response.status_code < 500, response.text
        case.validate_response(response, headers=headers, excluded_checks=excluded)

    check()
    # Fuzzed events are random UUIDs and MACs: whatever was stored is a
    # complete, valid visit (no half-written rows).
    assert count(engine, "visits", "customer_id IS NULL") == 0
    assert count(engine, "sync_events") >= count(engine, "visits")
