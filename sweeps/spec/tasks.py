"""Training tasks, all offline and deterministic given their seeds.

* ``teacher``: inputs x ~ N(0, I); labels from a fixed random teacher network (classification by
  argmax, or regression). Fresh samples every step (online), a fixed held-out batch. For MLPs.
* ``icl-copy``: random token sequences whose second half repeats the first; the loss is on the
  repeated half, which needs an induction head (so at least two layers). For the GPT.
* ``bytes``: byte-level language modelling on the Python standard library's source files (every
  machine has them; found through ``sysconfig``), split train/validation by file. For the GPT.

The data seed (``options.data_seed``, default 0) is shared by every trial of a sweep, so all trials
see the same distribution and held-out set; the trial seed only orders the training batches.
"""

from __future__ import annotations

import hashlib
import sysconfig
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from paramz.errors import ConfigError
from sweeps.spec.bounds import Seed

Batch = tuple[torch.Tensor, torch.Tensor]


def _gen(*parts: object) -> torch.Generator:
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") & (2**63 - 1))


@dataclass
class Task:
    """A task: model dims it imposes, batches, and its loss.

    Subclasses declare ``DIMS`` (the model config fields they set, e.g. ``("d_in", "d_out")``) and
    their options, either as ``OPTIONS`` (a pydantic model: typed and bounded, checked when a spec is
    validated, so a bad option is refused before anything runs) or, for older plugins, as ``KEYS``
    (the accepted names only); they take the options dict in ``__init__``. Register a new one with
    `sweeps.spec.plugins.register_task` or the ``paramz.tasks`` entry-point group.
    """

    KEYS: ClassVar[set[str]] = set()
    DIMS: ClassVar[tuple[str, ...]] = ()
    OPTIONS: ClassVar[type[BaseModel] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.OPTIONS is not None:
            cls.KEYS = set(cls.OPTIONS.model_fields)

    name: str
    options: dict[str, Any]
    model_dims: dict[str, int] = field(default_factory=dict)
    sequence: bool = False  # token sequences (GPT) or feature vectors (MLPs)

    def train_batch(self, step: int, batch_size: int, seed: int) -> Batch:
        raise NotImplementedError

    def eval_batch(self) -> Batch:
        raise NotImplementedError

    def probe_batch(self, size: int) -> Batch:
        """A fixed batch for sharpness probes (held-out data, the same for every trial)."""
        x, y = self.eval_batch()
        return x[:size], y[:size]

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output.reshape(-1, output.shape[-1]), target.reshape(-1), ignore_index=-100)


def _option(options: dict[str, Any], key: str, default: Any, kind: type) -> Any:
    value: Any = options.get(key, default)
    if not isinstance(value, kind) or (isinstance(value, int) and value <= 0):
        raise ConfigError(f"task.options.{key}: expected a positive {kind.__name__}, got {value!r}")
    return value


class _Options(BaseModel):
    """Options of a built-in task; ``model_dims`` and ``data_bytes`` let a spec's memory be estimated
    before the task is built (`sweeps.spec.budget`)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    data_seed: Seed = 0
    eval_size: Annotated[StrictInt, Field(ge=1, le=65536, description="held-out examples")] = 1024

    def model_dims(self) -> dict[str, int]:
        return {}

    def data_bytes(self) -> int:
        return 0


class TeacherOptions(_Options):
    d_in: Annotated[StrictInt, Field(ge=1, le=65536)] = 32
    d_out: Annotated[StrictInt, Field(ge=1, le=65536)] = 10
    teacher_width: Annotated[StrictInt, Field(ge=1, le=65536)] = 64
    kind: Literal["classification", "regression"] = "classification"

    def model_dims(self) -> dict[str, int]:
        return {"d_in": self.d_in, "d_out": self.d_out}

    def data_bytes(self) -> int:   # the held-out set and the teacher network, float32
        return 4 * (self.eval_size * (self.d_in + self.d_out) + self.teacher_width * (self.d_in + self.d_out))


class ICLCopyOptions(_Options):
    vocab_size: Annotated[StrictInt, Field(ge=2, le=65536)] = 64
    seq_len: Annotated[StrictInt, Field(ge=2, le=8192, multiple_of=2, description="two halves")] = 32
    eval_size: Annotated[StrictInt, Field(ge=1, le=65536)] = 256

    def model_dims(self) -> dict[str, int]:
        return {"vocab_size": self.vocab_size, "seq_len": self.seq_len}

    def data_bytes(self) -> int:   # the held-out sequences and targets, int64
        return 16 * self.eval_size * self.seq_len


class BytesOptions(_Options):
    seq_len: Annotated[StrictInt, Field(ge=2, le=8192)] = 64
    max_bytes: Annotated[StrictInt, Field(ge=4096, le=2**31)] = 4_000_000
    eval_size: Annotated[StrictInt, Field(ge=1, le=65536)] = 256

    def model_dims(self) -> dict[str, int]:
        return {"vocab_size": 256, "seq_len": self.seq_len}

    def data_bytes(self) -> int:   # the text as int64 tokens, and the held-out windows
        return 8 * self.max_bytes + 16 * self.eval_size * self.seq_len


class TeacherTask(Task):
    OPTIONS = TeacherOptions
    DIMS = ("d_in", "d_out")

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__("teacher", options)
        self.d_in = _option(options, "d_in", 32, int)
        self.d_out = _option(options, "d_out", 10, int)
        self.kind = options.get("kind", "classification")
        if self.kind not in ("classification", "regression"):
            raise ConfigError(f"task.options.kind: unknown value {self.kind!r}; choose classification or regression")
        width = _option(options, "teacher_width", 64, int)
        seed = options.get("data_seed", 0)
        g = _gen("teacher", seed)
        self.w1 = torch.randn(width, self.d_in, generator=g) / self.d_in ** 0.5
        self.w2 = torch.randn(self.d_out, width, generator=g) / width ** 0.5
        self.eval_size = _option(options, "eval_size", 1024, int)
        self.model_dims = {"d_in": self.d_in, "d_out": self.d_out}
        self._eval = self._sample(self.eval_size, _gen("teacher-eval", seed))

    def _sample(self, n: int, g: torch.Generator) -> Batch:
        x = torch.randn(n, self.d_in, generator=g)
        out = torch.tanh(x @ self.w1.T) @ self.w2.T
        return (x, out.argmax(dim=-1)) if self.kind == "classification" else (x, out)

    def train_batch(self, step: int, batch_size: int, seed: int) -> Batch:
        return self._sample(batch_size, _gen("teacher-train", self.options.get("data_seed", 0), seed, step))

    def eval_batch(self) -> Batch:
        return self._eval

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output, target) if self.kind == "classification" else F.mse_loss(output, target)


class ICLCopyTask(Task):
    OPTIONS = ICLCopyOptions
    DIMS = ("vocab_size", "seq_len")

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__("icl-copy", options, sequence=True)
        self.vocab = _option(options, "vocab_size", 64, int)
        self.seq_len = _option(options, "seq_len", 32, int)
        if self.seq_len % 2:
            raise ConfigError(f"task.options.seq_len: must be even (two halves), got {self.seq_len}")
        self.model_dims = {"vocab_size": self.vocab, "seq_len": self.seq_len}
        self._eval = self._sample(_option(options, "eval_size", 256, int),
                                  _gen("icl-eval", options.get("data_seed", 0)))

    def _sample(self, n: int, g: torch.Generator) -> Batch:
        h = self.seq_len // 2
        half = torch.randint(self.vocab, (n, h), generator=g)
        seq = half.repeat(1, 3)[:, : self.seq_len + 1]  # token i is half[i mod h]: a, a, a_0
        x, y = seq[:, :-1], seq[:, 1:].clone()
        y[:, : h - 1] = -100  # score only targets that repeat an earlier token (positions ≥ h)
        return x, y

    def train_batch(self, step: int, batch_size: int, seed: int) -> Batch:
        return self._sample(batch_size, _gen("icl-train", self.options.get("data_seed", 0), seed, step))

    def eval_batch(self) -> Batch:
        return self._eval


@lru_cache(maxsize=4)
def _stdlib_bytes(max_bytes: int) -> tuple[bytes, bytes]:
    root = Path(sysconfig.get_paths()["stdlib"])
    train, val = bytearray(), bytearray()
    for path in sorted(root.glob("*.py")):
        data = path.read_bytes()
        # split by file: a stable hash of the file name puts ~10% of the files in validation
        target = val if hashlib.sha256(path.name.encode()).digest()[0] < 26 else train
        target += data
        if len(train) >= max_bytes and len(val) >= max_bytes // 10:
            break
    if not train or not val:
        raise ConfigError(f"task: no Python standard library sources under {root}; use another task")
    return bytes(train[:max_bytes]), bytes(val[: max(max_bytes // 10, 1)])


class BytesTask(Task):
    OPTIONS = BytesOptions
    DIMS = ("vocab_size", "seq_len")

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__("bytes", options, sequence=True)
        self.seq_len = _option(options, "seq_len", 64, int)
        train, val = _stdlib_bytes(_option(options, "max_bytes", 4_000_000, int))
        self.train = torch.frombuffer(bytearray(train), dtype=torch.uint8).long()
        self.val = torch.frombuffer(bytearray(val), dtype=torch.uint8).long()
        self.model_dims = {"vocab_size": 256, "seq_len": self.seq_len}
        self._eval = self._windows(self.val, _option(options, "eval_size", 256, int),
                                   _gen("bytes-eval", options.get("data_seed", 0)))

    def _windows(self, data: torch.Tensor, n: int, g: torch.Generator) -> Batch:
        starts = torch.randint(len(data) - self.seq_len - 1, (n,), generator=g)
        idx = starts[:, None] + torch.arange(self.seq_len + 1)
        seq = data[idx]
        return seq[:, :-1], seq[:, 1:]

    def train_batch(self, step: int, batch_size: int, seed: int) -> Batch:
        return self._windows(self.train, batch_size, _gen("bytes-train", self.options.get("data_seed", 0), seed, step))

    def eval_batch(self) -> Batch:
        return self._eval


TASKS: dict[str, type[Task]] = {"teacher": TeacherTask, "icl-copy": ICLCopyTask, "bytes": BytesTask}


def make_task(name: str, options: dict[str, Any] | None = None) -> Task:
    """Builds a task by name.

    Raises:
        ConfigError: unknown task or option, or a bad option value.
    """
    if name not in TASKS:
        raise ConfigError(f"task.name: unknown task {name!r}; choose one of {', '.join(TASKS)}")
    options = dict(options or {})
    cls = TASKS[name]
    unknown = set(options) - cls.KEYS
    if unknown:
        raise ConfigError(f"task.options: unknown {sorted(unknown)} for {name!r}; known: {', '.join(sorted(cls.KEYS))}")
    return cls(options)  # type: ignore[call-arg, arg-type]  # subclasses take only their options
