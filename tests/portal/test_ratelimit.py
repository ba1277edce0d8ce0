"""Issue 15, finding 7: one limit's cleanup must not delete the other limit's counters."""

from __future__ import annotations

from porchlight.portal.ratelimit import RateLimiter

HOUR_START = 1_790_000_000 - 1_790_000_000 % 3600


class Clock:
    def __init__(self) -> None:
        self.now = float(HOUR_START)

    def __call__(self) -> float:
        return self.now


def test_per_ip_limit_holds_when_the_per_mac_window_is_shorter(tmp_path):
    clock = Clock()
    limiter = RateLimiter(tmp_path / "limits.db", clock=clock)
    passed = []
    for _ in range(6):  # one attempt a minute; another phone's attempt runs the cleanup first
        clock.now += 61
        assert limiter.hit("mac:02:00:00:00:00:99", 10, 60)
        passed.append(limiter.hit("ip:10.77.0.23", 3, 3600))
        assert limiter.hit("mac:02:00:00:00:00:23", 10, 60)
    assert passed == [True, True, True, False, False, False]


def test_counters_of_ended_windows_are_removed(tmp_path):
    clock = Clock()
    limiter = RateLimiter(tmp_path / "limits.db", clock=clock)
    assert limiter.hit("mac:a", 1, 60)
    assert not limiter.hit("mac:a", 1, 60)
    clock.now += 3 * 3600
    assert limiter.hit("ip:b", 1, 3600)  # cleans up the old windows
    rows = limiter._db().execute("SELECT key FROM hits").fetchall()
    assert rows == [("ip:b",)]
    assert limiter.hit("mac:a", 1, 60)
