"""Checks of the project's wiring: packaging metadata, pins, CI entry point and README commands."""
from __future__ import annotations

import configparser
import re
import subprocess
import sys
from pathlib import Path

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


def test_audiofeat_never_imports_gansynth_zoo():
    pattern = re.compile(r"^\s*(from|import)\s+gansynth_zoo", flags=re.M)
    offenders = [p for p in (ROOT / "audiofeat").rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []
