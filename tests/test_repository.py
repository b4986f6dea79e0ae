"""The shape of the repository: no import cycles, documents that exist, a short README."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("paramz", "sweeps", "service")


def test_no_module_imports_another_that_imports_it_back():
    graph = grimp.build_graph(*PACKAGES)
    cycles = []
    for importer in sorted(graph.modules):
        if not importer.startswith(PACKAGES):
            continue
        for imported in graph.find_modules_directly_imported_by(importer):
            if imported.startswith(PACKAGES):
                back = graph.find_shortest_chain(importer=imported, imported=importer)
                if back is not None:
                    cycles.append(f"{importer} -> {' -> '.join(back)}")
    assert cycles == []


def _text_files() -> list[Path]:
    """The repository's text files: what git tracks, and what is about to be committed."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    suffixes = (".py", ".md", ".toml", ".yaml", ".js", ".html", ".css", ".txt", "")
    return [ROOT / p for p in listed if Path(p).suffix in suffixes and (ROOT / p).is_file()
            and p != "tests/test_repository.py"]


# a path inside the repository, as text cites it: docs/rules.md, sweeps/search/adaptive.py, tests/paramz/test_x.py
CITED = re.compile(r"(?<![\w/.-])((?:docs|tests|sweeps|paramz|service|bench|dashboards|\.ci)/[\w./-]*[\w])")
DOC = re.compile(r"(?<![\w/.-])([A-Z][A-Z_]+\.md)\b")  # an upper-case document name, as README.md


def test_every_document_or_file_a_file_cites_is_in_the_repository():
    missing = []
    for path in _text_files():
        text = path.read_text(errors="ignore")
        for cited in CITED.findall(text):
            cited = cited.rstrip(".")
            if "*" in cited or "<" in cited or cited.endswith("/"):
                continue
            if not (ROOT / cited).exists() and not any(ROOT.glob(cited + ".*")):
                missing.append(f"{path.relative_to(ROOT)}: {cited}")
        for doc in DOC.findall(text):
            if doc not in ("README.md",) and not list(ROOT.rglob(doc)):
                missing.append(f"{path.relative_to(ROOT)}: {doc}")
    assert missing == []


@pytest.mark.parametrize("doc", ["docs/rules.md", "docs/architecture.md", "docs/benchmarks.md"])
def test_the_docs_exist(doc):
    assert (ROOT / doc).stat().st_size > 1000


def test_the_readme_is_short_and_shows_the_two_set_up_commands():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.encode()) <= 10 * 1024
    assert "make demo" in readme and "make test" in readme
    for doc in ("docs/rules.md", "docs/architecture.md", "docs/benchmarks.md"):
        assert doc in readme


def test_every_module_the_makefile_runs_exists():
    """`make demo` once ran a module that a refactor had moved; every `python -m X` of the Makefile must import."""
    import importlib.util

    modules = re.findall(r"\$\(PY\) -m ([\w.]+)", (ROOT / "Makefile").read_text())
    ours = [m for m in modules if m.split(".")[0] in ("paramz", "sweeps", "service")]
    assert "sweeps.cli.demo" in ours and "service.cli" in ours
    assert [m for m in ours if importlib.util.find_spec(m) is None] == []
    scripts = re.findall(r"\$\(PY\) ([\w/]+\.py)", (ROOT / "Makefile").read_text())
    assert "bench/calibration.py" in scripts and [s for s in scripts if not (ROOT / s).is_file()] == []


def test_a_ray_worker_imports_the_trial_and_not_the_engine():
    """A worker unpickles `sweeps.run.executors.ray._Worker`, importing its packages on the way: the
    store, search and analysis (SQLAlchemy, Optuna, pandas, SciPy) stay out, about a second of every
    worker's start; the names of `sweeps.run` still resolve on first use."""
    import sys

    code = ("import sys, sweeps.run.executors.ray\n"
            "print(sorted(m for m in ('sqlalchemy', 'optuna', 'pandas', 'scipy', 'sweeps.run.engine', 'sweeps.store')"
            " if m in sys.modules))\n"
            "from sweeps.run import run_sweep, Lease, probe_steps\n"
            "print('sweeps.run.engine' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == ["[]", "True"]
