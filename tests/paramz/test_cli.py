"""The `paramz` CLI: coord-check output contract and bad input (exit 2, one line, no traceback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from paramz.cli import main

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "paramz.cli", *args], capture_output=True, text=True, env=ENV,
                          timeout=120)


def test_coord_check_json_is_one_document_with_records_and_verdicts(tmp_path):
    plot = tmp_path / "cc.html"
    proc = run_cli("coord-check", "--model", "mlp", "--param", "sp", "--param", "mup", "--widths", "64,128,256,512",
                   "--depths", "2", "--steps", "5", "--lr", "1e-2", "--json", "--plot", str(plot))
    assert proc.returncode == 1, proc.stderr  # SP fails the check: exit 1
    doc = json.loads(proc.stdout)
    assert doc["passed"] is False
    assert doc["summary"] == [{"parameterization": "sp", "model": "mlp", "axis": "width", "passed": False},
                              {"parameterization": "mup", "model": "mlp", "axis": "width", "passed": True}]
    mup_records = [r for r in doc["records"] if r["parameterization"] == "mup"]
    assert len(mup_records) == 4 * 4 * 6  # widths × modules × steps 0..5
    assert set(mup_records[0]) == {"parameterization", "width", "depth", "module", "step", "mean_abs"}
    assert {v["module"] for v in doc["verdicts"] if v["parameterization"] == "mup"} == {
        "emb", "hidden.0", "hidden.1", "out"}
    assert any(v["module"] == "hidden.0" and not v["passed"] for v in doc["verdicts"] if v["parameterization"] == "sp")
    html = plot.read_text()
    assert "<script src=\"http" not in html and len(html) > 1_000_000  # plotly.js embedded, nothing fetched


def test_coord_check_table_and_exit_0_when_passing():
    proc = run_cli("coord-check", "--model", "resmlp", "--param", "completep", "--alpha", "0.75", "--widths", "128",
                   "--depths", "2", "4", "8", "--steps", "5", "--lr", "3e-3")
    assert proc.returncode == 0, proc.stderr
    assert "completep · resmlp · depth check: PASS" in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize("args,message", [
    (["--param", "mupp"], "parameterization: unknown value 'mupp'; choose one of sp, mup, depth-mup, completep"),
    (["--param", "completep", "--alpha", "1.5"], "alpha: 1.5 is outside [0.5, 1]"),
    (["--param", "mup", "--alpha", "0.5"], "alpha: 'mup' has no depth rule"),
    (["--param", "mup", "--widths", "64,-128"], "widths: must be a positive integer, got -128"),
    (["--param", "mup", "--widths", "16,16"], "widths: 16 given more than once"),
    (["--param", "mup", "--seeds", "0"], "seeds: must be a positive integer"),
    (["--param", "mup", "--threshold", "nan"], "threshold: must be a finite positive number"),
    (["--param", "mup", "--widths", "64,abc"], "expected integers such as 64,128,256"),
    (["--param", "mup", "--model", "cnn"], "model: unknown value 'cnn'; choose one of mlp, resmlp, gpt"),
    (["--param", "mup", "--steps", "0"], "steps: must be a positive integer"),
    (["--param", "mup", "--optimizer", "lion"], "optimizer: unknown value 'lion'; choose one of adamw, sgd"),
])
def test_bad_input_exits_2_with_one_line(args, message, capsys):
    base = {"--model": "mlp", "--widths": "64,128", "--depths": "2"}
    for i in range(0, len(args) - 1):
        if args[i] in base:
            base[args[i]] = args[i + 1]
    argv = ["coord-check"] + [x for k, v in base.items() for x in (k, v)]
    argv += [a for i, a in enumerate(args) if a not in base and (i == 0 or args[i - 1] not in base)]
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(argv))
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_explain_prints_the_plan_as_json_and_as_a_table(capsys):
    argv = ["explain", "--model", "gpt", "--param", "completep", "--width", "128", "--depth", "8", "--base-width",
            "32", "--base-depth", "2", "--dims", "d_head=16,tied=false", "--json"]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = {r["name"]: r for r in doc["parameters"]}
    assert doc["parameterization"] == "completep" and doc["depth_ratio"] == 4.0
    assert doc["residual_multiplier"] == 0.25 and doc["attention_scale"] == pytest.approx(0.25)
    q = rows["blocks.3.attn.q.weight"]
    assert (q["role"], q["in_block"], q["lr_mult"], q["eps_mult"], q["wd_mult"]) == ("hidden", True, 0.25, 1 / 16, 4.0)
    assert rows["lm_head.weight"]["forward"] == 0.25 and rows["wte.weight"]["source"] == "declared"
    assert main(argv[:-1]) == 0
    err = capsys.readouterr().err
    assert "blocks.3.attn.q.weight" in err and "residual branches × 0.25" in err
    assert main(["explain", "--model", "gpt", "--param", "mup", "--width", "72", "--depth", "2", "--base-width",
                 "32"]) == 2
    assert "width: 72 is not a multiple of d_head=16" in capsys.readouterr().err
