"""Shared fixtures. One torch thread per process (pytest-xdist runs one process per core)."""

from __future__ import annotations

import torch

torch.set_num_threads(1)
