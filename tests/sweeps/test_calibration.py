"""The 95% intervals are calibrated: on synthetic sweeps with known optima they cover the truth 90–98% of the time.

The model (sweeps/analysis/synthetic.py): a seed's optimum scatters ½ octave around the truth, the loss
has 0.5% noise, the grid is one octave apart, five widths per sweep. `bench/calibration.py`
prints the same numbers and more settings.
"""

from __future__ import annotations

import pytest

from sweeps.analysis.synthetic import coverage


@pytest.mark.parametrize("seeds", [1, 2, 3, 5])
def test_nominal_95_intervals_cover_the_true_optimum_90_to_98_percent_and_never_have_zero_width(seeds):
    c = coverage(seeds, draws=80, seed=seeds, vertex_scatter=0.5, noise=0.005)
    assert c.intervals == 400
    assert 0.90 <= c.covered <= 0.98, c
    assert c.min_width > 0, c
    assert 0.90 <= c.slope_covered <= 1.0, c     # the law's slope interval, over 80 sweeps


def test_more_seeds_give_narrower_intervals():
    widths = [coverage(n, draws=30, seed=10 + n).median_width for n in (2, 5)]
    assert widths[1] < 0.8 * widths[0], widths
