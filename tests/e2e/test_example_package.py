"""The worked plugin package end to end: explain, coordinate checks, a sweep through REST with the
plugin allowlist, the report from the CLI. `make install` installs docs/examples/llama_paramz."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from tests.e2e.conftest import ROOT
from tests.service.conftest import AUTH
from tests.sweeps.conftest import ENV

PLUGINS = {"PARAMZ_PLUGINS": "llama,markov"}
SPEC = yaml.safe_load((ROOT / "docs" / "examples" / "llama_paramz" / "llama.yaml").read_text())  # the walkthrough's


def paramz_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "service.cli", *args], capture_output=True, text=True,
                          env={**ENV, **PLUGINS}, cwd=ROOT, timeout=300)


def verdicts(proc: subprocess.CompletedProcess[str]) -> dict[str, bool]:
    return {s["parameterization"]: s["passed"] for s in json.loads(proc.stdout)["summary"]}


def test_explain_and_coordinate_checks_of_the_plugin_model():
    proc = paramz_cli("explain", "--model", "llama", "--param", "completep", "--width", "256", "--depth", "8",
                      "--base-width", "64", "--base-depth", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    roles = {r["name"]: r["role"] for r in doc["parameters"]}
    assert doc["warnings"] == [] and doc["residual_multiplier"] == 0.25 and doc["attention_scale"] == 0.25
    assert roles["tok_emb.weight"] == "emb" and roles["lm_head.weight"] == "out"
    assert roles["layers.7.mlp.gate.weight"] == "hidden" and roles["layers.7.attn_norm.weight"] == "block-vec"
    assert roles["norm.weight"] == "end-vec" and len(doc["branches"]) == 16
    width = paramz_cli("coord-check", "--model", "llama", "--param", "sp", "--param", "mup", "--widths",
                       "64,128,256,512", "--depths", "2", "--steps", "5", "--lr", "1e-2", "--batch-size", "8",
                       "--dims", "seq_len=32", "--json")
    assert width.returncode == 1 and verdicts(width) == {"sp": False, "mup": True}, width.stderr
    depth = paramz_cli("coord-check", "--model", "llama", "--param", "mup", "--param", "completep", "--widths",
                       "256", "--depths", "2,4,8,16", "--steps", "10", "--lr", "3e-3", "--batch-size", "8",
                       "--dims", "d_head=64,seq_len=32", "--json")
    assert depth.returncode == 1 and verdicts(depth) == {"mup": False, "completep": True}, depth.stderr


def test_a_sweep_of_the_plugin_through_rest_with_the_allowlist(serve, make_client, tmp_path):
    refused = make_client(plugins=["markov"]).post("/api/v1/sweeps", json=SPEC, headers=AUTH)  # not allowed
    assert refused.status_code == 422 and "unknown model 'llama'" in refused.json()["detail"]
    store = f"sqlite:///{tmp_path}/plugin.db"
    server = serve(store, env=PLUGINS)
    status, created = server.request("POST", "/api/v1/sweeps", SPEC)
    assert status == 202 and created["n_trials"] == 12, created
    done = server.wait(created["id"], lambda d: d["status"] not in ("pending", "running"), timeout=300)
    assert done["status"] == "completed" and done["counts"] == {"completed": 12}, done
    transfer = server.get(f"/api/v1/sweeps/{created['id']}/transfer")
    assert {(c["parameterization"], c["width"]) for c in transfer["curves"]} == {
        ("sp", 32), ("sp", 64), ("mup", 32), ("mup", 64)}
    report = paramz_cli("sweep", "report", created["id"], "--store", store, "--json")
    assert report.returncode == 0, report.stderr
    cli_optima = {(o["parameterization"], o["width"]): o["log2_lr"] for o in json.loads(report.stdout)["optima"]}
    assert cli_optima == {(o["parameterization"], o["width"]): o["log2_lr"] for o in transfer["optima"]}
    series = server.get(f"/api/v1/sweeps/{created['id']}/sharpness")["series"]
    assert len(series) == 12 and all(s["sharpness"]["raw"][-1] > 0 for s in series)
