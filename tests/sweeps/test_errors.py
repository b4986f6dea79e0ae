"""A failed trial says what went wrong in one public line; its trace goes to the log; its sweep shows failed."""

from __future__ import annotations

import logging

import pytest

import sweeps.run.executors.local
from sweeps.run import LocalExecutor
from sweeps.run.errors import public_message
from sweeps.spec import parse_spec
from sweeps.store import Store
from tests.sweeps.conftest import run_spec, small_spec

NOISY = ("\x1b[31mshape mismatch\x1b[0m in /home/someone/.venv/lib/python3.11/site-packages/mypkg/model.py "
         "(pid=41234, ip=10.1.2.3:6379, actor_id=6a1b9f3c2d4e5f60718293a4b5c6d7e8f9a0b1c2)\nTraceback (most recent...")


def test_the_public_message_is_type_and_message_without_internals():
    assert public_message(ValueError(NOISY)) == ("ValueError: shape mismatch in <path> (pid=<hidden>, ip=<hidden>, "
                                                 "actor_id=<hidden>)")

    class Wrapped(Exception):   # how Ray hands over the trial's own exception
        cause = KeyError("d_head")
    assert public_message(Wrapped("ray.exceptions.RayTaskError(KeyError): ... long trace ...")) == "KeyError: 'd_head'"
    assert len(public_message(RuntimeError("x" * 5000))) == 500


def test_a_sweep_of_failing_trials_shows_failed_with_the_public_error_and_logs_the_trace(tmp_path, monkeypatch,
                                                                                         caplog):
    def crash(cfg, report=None):
        raise RuntimeError(NOISY)
    monkeypatch.setattr(sweeps.run.executors.local, "run_trial", crash)
    store = Store(f"sqlite:///{tmp_path}/e.db")
    with caplog.at_level(logging.ERROR, logger="sweeps.run"):
        sweep_id = run_spec(parse_spec(small_spec()), store, LocalExecutor())
    assert store.status(sweep_id) == "failed"
    trials = store.trials_frame(sweep_id)
    assert set(trials.status) == {"failed"}
    said = "RuntimeError: shape mismatch in <path> (pid=<hidden>, ip=<hidden>, actor_id=<hidden>)"
    assert set(trials.error) == {said}
    assert "Traceback" in caplog.text and "/home/someone/.venv" in caplog.text   # the operator's log has it all


@pytest.mark.parametrize("text", ["/usr/lib/python3/x.py", "192.168.0.7", "pid=99"])
def test_each_internal_is_scrubbed(text):
    assert text not in public_message(OSError(f"failed near {text} while loading"))
