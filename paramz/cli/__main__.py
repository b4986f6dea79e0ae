"""``python -m paramz.cli ...``: the library's own commands (coord-check), without the sweep engine."""

from paramz.cli import main

raise SystemExit(main())
