"""``python -m sweeps.cli ...``: the CLI without the web stack (tests run it so)."""

from sweeps.cli import main

raise SystemExit(main())
