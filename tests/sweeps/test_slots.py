"""Concurrent sweeps on one executor: the slot pool's fairness, and two sweeps that both progress from the start."""

from __future__ import annotations

import threading
import time

import pandas as pd

from sweeps import application
from sweeps.run import LocalExecutor
from sweeps.run.executors.slots import SlotPool
from sweeps.spec import parse_spec
from sweeps.store import Store
from tests.sweeps.conftest import small_spec


def test_a_newcomer_gets_the_next_free_slot_and_then_they_alternate():
    pool = SlotPool(2)
    big, small = object(), object()
    a, b = pool.try_acquire(big), pool.try_acquire(big)
    assert {a, b} == {0, 1} and pool.try_acquire(small) is None      # all taken; small now waits
    pool.release(big, a)
    assert pool.try_acquire(big) is None                             # big holds more than small: it yields
    assert pool.try_acquire(small) == a
    pool.release(big, b)
    assert pool.try_acquire(big) == b                                # 1 each: big waited longer since its last
    assert pool.held(big) == 1 and pool.held(small) == 1


def test_one_slot_alternates_between_two_owners_and_a_satisfied_owner_blocks_nobody():
    pool = SlotPool(1)
    x, y = object(), object()
    pool.want(x)
    pool.want(y)
    order = []
    for _ in range(4):
        for owner in (x, y):
            slot = pool.try_acquire(owner)
            if slot is not None:
                order.append(owner)
                pool.release(owner, slot)
    assert order == [x, y, x, y, x, y, x, y]
    pool.satisfied(x)
    assert pool.try_acquire(y) == 0                                  # x no longer in line


def test_blocking_acquire_wakes_on_release():
    pool = SlotPool(1)
    first, second = object(), object()
    slot = pool.acquire(first)
    got = []
    waiter = threading.Thread(target=lambda: got.append(pool.acquire(second, timeout=5)))
    waiter.start()
    time.sleep(0.1)
    assert not got
    pool.release(first, slot)
    waiter.join(5)
    assert got == [0]
    assert pool.acquire(first, timeout=0.05) is None                 # second holds it


def test_two_sweeps_on_one_executor_both_progress_from_the_start(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    big = parse_spec(small_spec(name="big", lr={"values": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]}, seeds=[0, 1], steps=200,
                                sharpness={"probes": 0}))
    small = parse_spec(small_spec(name="small", lr={"values": [1e-3]}, steps=200, sharpness={"probes": 0}))
    executor = LocalExecutor()
    ids = {s.name: application.launch(store, s).sweep_id for s in (big, small)}
    threads = [threading.Thread(target=application.run, args=(store, ids["big"], executor))]
    threads[0].start()
    while not store.counts(ids["big"]).get("completed"):          # the big sweep is under way
        time.sleep(0.01)
    arrived = pd.Timestamp.now(tz="UTC")
    threads.append(threading.Thread(target=application.run, args=(store, ids["small"], executor)))
    threads[1].start()
    for t in threads:
        t.join(300)
    frames = []
    for name, sweep_id in ids.items():
        assert store.status(sweep_id) == "completed"
        frames.append(store.trials_frame(sweep_id).assign(sweep=name))
    trials = pd.concat(frames)
    started = pd.to_datetime(trials["started_at"], utc=True, format="ISO8601")
    mine = started[trials["sweep"] == "small"].sort_values()
    theirs = started[trials["sweep"] == "big"]
    # once it asked, the small sweep waited for at most the big one's trial in flight (and one it may have
    # started while the small one was still taking its lease), then the two took turns
    assert ((theirs > arrived) & (theirs < mine.iloc[0])).sum() <= 1
    assert ((theirs > mine.iloc[0]) & (theirs < mine.iloc[-1])).sum() <= 1
    assert (theirs > mine.iloc[-1]).sum() >= 10                    # it did not wait for the big sweep to end
