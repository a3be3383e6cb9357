"""Checks of the project's wiring: packaging metadata, pins, CI entry point and README commands."""
from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_setup_cfg_declares_both_packages_scripts_and_extras():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    scripts = cfg["options.entry_points"]["console_scripts"]
    assert "audiofeat = audiofeat.cli:main" in scripts
    assert "gansynth-zoo = gansynth_zoo.cli:main" in scripts
    assert {"test", "plot", "bench"} <= set(cfg["options.extras_require"])
    includes = cfg["options.packages.find"]["include"].split()
    assert "audiofeat" in includes and "gansynth_zoo" in includes


def test_constraints_pin_torch_and_torchaudio_together():
    pins = dict(line.split("==") for line in (ROOT / "requirements/constraints.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    assert pins["torch"] == pins["torchaudio"] == "2.11.0"
    assert "-c $(CONSTRAINTS)" in (ROOT / "Makefile").read_text()


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```(?:sh|bash)?\n(.*?)```", readme, flags=re.S)
    assert commands, "README must start with its commands in a code block"
    first_block = [line for line in commands[0].splitlines() if line and not line.startswith("#")]
    assert first_block == ["make demo", "make test"]
    ci = (ROOT / ".ci/run").read_text()
    assert "make test" in ci and "set -euo pipefail" in ci


def test_console_scripts_run():
    for module in ("audiofeat.cli", "gansynth_zoo.cli"):
        done = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True)
        assert done.returncode == 0 and "version" in done.stdout


def _make(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    venv = Path(sys.prefix)  # this interpreter's environment, taken as built (-o: never reinstalled)
    return subprocess.run(["make", "-C", str(ROOT), "-o", f"{venv}/.installed", f"VENV={venv}", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.mark.skipif(shutil.which("make") is None or not (Path(sys.prefix) / "bin" / "audiofeat").exists(),
                    reason="needs make and an environment with the audiofeat command")
def test_makefile_takes_paths_with_spaces_and_runs_nothing_hidden_in_values(tmp_path):
    from audiofeat.datasets.synthetic import OneShotsConfig, write_oneshots

    write_oneshots(tmp_path / "in put",
                   OneShotsConfig(per_subclass=2, duration=0.2, subclasses=("drums/kick", "bass/sub")))
    built = _make("features", f"INPUT={tmp_path}/in put", f"OUTPUT={tmp_path}/out put/c.h5", "FEATURES=demo",
                  "SET=--set audio.length=2048", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "out put" / "c.h5").is_file()
    # every way a value could run a command: in make ($(shell)), in the shell (backquotes, $(...),
    # a ; after a closing quote); the paths stay inside tmp_path
    hostile = (f"{tmp_path}/x $(shell touch {tmp_path}/p1) `touch {tmp_path}/p2` $(touch {tmp_path}/p3) "
               f"; touch {tmp_path}/p4 ' ; touch {tmp_path}/p5 ; ' \" ; touch {tmp_path}/p6 ; \"")
    values = [f"{v}={hostile}" for v in ("SET", "INPUT", "OUTPUT", "FEATURES", "WORKERS")]
    assert _make("features", *values, cwd=tmp_path).returncode != 0  # refused by audiofeat, nothing run
    _make("-n", "demo", "train-cgan", *values, f"DATA={hostile}", f"RUNS={hostile}", f"DEVICE={hostile}", cwd=tmp_path)
    assert not [p.name for p in tmp_path.glob("p?")]
