"""`make validate` / `paramz validate`: the papers' headline results reproduced by the tool itself.

`studies` defines the sweeps (profiles ``full`` and ``smoke``), `run` runs them through
`sweeps.application` and checks a prediction beyond the swept widths, `claims` judges each claim on
the analysis' intervals, `markdown` and `figures` write ``docs/validation/``.
"""

from sweeps.validation.run import Validation, run_validation, summary
from sweeps.validation.studies import PROFILES, Profile

__all__ = ["PROFILES", "Profile", "Validation", "run_validation", "summary"]
