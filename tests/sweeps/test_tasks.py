"""Tasks: deterministic, offline, with the structure they promise."""

from __future__ import annotations

import pytest
import torch

from paramz.errors import ConfigError
from sweeps.spec.tasks import _stdlib_bytes, make_task


@pytest.mark.parametrize("name", ["teacher", "icl-copy", "bytes"])
def test_batches_are_deterministic_and_vary_by_step_and_seed(name):
    a, b = make_task(name, {"max_bytes": 200_000} if name == "bytes" else {}), make_task(
        name, {"max_bytes": 200_000} if name == "bytes" else {})
    x1, y1 = a.train_batch(3, 8, seed=0)
    x2, y2 = b.train_batch(3, 8, seed=0)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, a.train_batch(4, 8, seed=0)[0])
    assert not torch.equal(x1, a.train_batch(3, 8, seed=1)[0])
    assert torch.equal(a.eval_batch()[0], b.eval_batch()[0])


def test_icl_copy_second_half_repeats_the_first_and_only_it_is_scored():
    task = make_task("icl-copy", {"vocab_size": 16, "seq_len": 12})
    x, y = task.train_batch(0, 4, seed=0)
    assert x.shape == y.shape == (4, 12)
    full = torch.cat([x, y[:, -1:]], dim=1)  # the 13 tokens
    assert torch.equal(full[:, 6:12], full[:, 0:6])
    assert (y[:, :5] == -100).all() and (y[:, 5:] >= 0).all()  # y[:, 5] is token 6, the first repeat


def test_bytes_splits_by_file_and_teacher_labels_are_classes():
    train, val = _stdlib_bytes(300_000)
    assert len(train) == 300_000 and len(val) > 10_000 and val[:1000] not in train
    task = make_task("teacher", {"d_out": 7})
    _, y = task.train_batch(0, 256, seed=0)
    assert y.min() >= 0 and y.max() < 7 and len(y.unique()) > 3


def test_bad_task_options():
    with pytest.raises(ConfigError, match="task.options.seq_len: must be even"):
        make_task("icl-copy", {"seq_len": 7})
    with pytest.raises(ConfigError, match="task.options.kind: unknown value 'ranking'"):
        make_task("teacher", {"kind": "ranking"})
