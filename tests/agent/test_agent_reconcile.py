"""The pure reconcile diff."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from porchlight.agent.reconcile import diff

macs = st.sampled_from([f"aa:bb:cc:00:00:{i:02x}" for i in range(12)])
timeouts = st.integers(min_value=-5, max_value=4000)


def test_adds_missing_deletes_extra_keeps_matching():
    changes = diff(
        {"allowed": {"a": 3600, "b": 100}, "trusted": {"t": None}},
        {"allowed": {"b": 95, "c": 50}, "blocked": {"x": None}},
    )
    assert changes.add == {"allowed": {"a": 3600}, "trusted": {"t": None}}
    assert changes.delete == {"allowed": ["c"], "blocked": ["x"]}
    assert changes.count() == 4
    script = changes.script()
    assert script.index("delete element inet porchlight allowed { c }") < script.index(
        "add element inet porchlight allowed { a timeout 3600s }"
    )


def test_drifted_timeout_is_deleted_and_re_added():
    changes = diff({"allowed": {"a": 3600}}, {"allowed": {"a": 100}})
    assert changes.delete == {"allowed": ["a"]} and changes.add == {"allowed": {"a": 3600}}


def test_expired_desired_elements_are_not_added():
    assert not diff({"allowed": {"a": 0, "b": -3}}, {})


def test_nothing_to_do_is_empty():
    changes = diff({"allowed": {"a": 300}}, {"allowed": {"a": 290}})
    assert not changes and changes.script() == ""


@given(
    st.dictionaries(macs, timeouts),
    st.dictionaries(macs, timeouts),
)
def test_applying_the_diff_yields_the_desired_set(desired, actual):
    changes = diff({"allowed": desired}, {"allowed": actual})
    result = dict(actual)
    for key in changes.delete.get("allowed", []):
        del result[key]
    result.update(changes.add.get("allowed", {}))
    want = {k: v for k, v in desired.items() if v > 0}
    assert set(result) == set(want)
    assert all(abs(result[k] - want[k]) <= 60 for k in want)
    assert not diff({"allowed": desired}, {"allowed": result})
