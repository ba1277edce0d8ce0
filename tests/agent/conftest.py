from __future__ import annotations

import pytest
from agentkit import FakeKernel

from porchlight.agent import nft_ruleset
from porchlight.agent.conntrack import Conntrack
from porchlight.agent.gate import Gate
from porchlight.agent.nft import Nft
from porchlight.agent.store import open_db

T0 = 1_790_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def kernel() -> FakeKernel:
    return FakeKernel()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db(tmp_path):
    database = open_db(tmp_path / "agent.db")
    yield database
    database.close()


@pytest.fixture
def gate(db, kernel, clock) -> Gate:
    g = Gate(
        db,
        nft_ruleset.GateSpec(lan="br-lan", portal_port=8080),
        nft=Nft(kernel),
        conntrack=Conntrack(kernel),
        clock=clock,
    )
    g.rebuild()
    return g
