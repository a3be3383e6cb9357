"""The report: every table, figure and quoted number is built from the results files, and the built
PDF (``make test-report``) has at most 8 pages, none blank, none older than its sources."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "report"
TEX = (REPORT / "report.tex").read_text()
BODY = TEX[TEX.index("\\begin{document}"):]


def _generated_names() -> set[str]:
    inputs = {"macros.tex"} | set(re.findall(r"\\input\{generated/([^}]+)\}", BODY))
    inputs |= set(re.findall(r"\\gtab\{([^}]+)\}", BODY))
    inputs = {name if "." in name else f"tab-{name}.tex" for name in inputs}
    return inputs | set(re.findall(r"\\includegraphics(?:\[[^]]*\])?\{generated/([^}]+)\}", TEX))


def test_build_writes_every_table_figure_and_macro_the_paper_uses(report_script, tmp_path):
    done = CliRunner().invoke(report_script("build").main, ["--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    for name in _generated_names():
        assert (tmp_path / name).is_file(), name
        assert manifest[name], f"{name} records no input"  # built from results files, not pasted
        assert all(path.startswith(("docs/results/data/", "docs/benchmarks.md")) for path in manifest[name])
    defined = set(re.findall(r"\\newcommand\{\\([A-Za-z]+)\}", (tmp_path / "macros.tex").read_text()))
    latex = {"maketitle", "textbf", "emph", "texttt", "cite", "ref", "label", "caption", "centering", "input",
             "includegraphics", "columnwidth", "gtab", "section", "item", "itemsep", "begin", "end", "times",
             "toprule", "midrule", "bottomrule", "small", "footnotesize", "setlength", "tabcolsep", "ldots",
             "cdot", "lambda", "pm", "bibliographystyle", "bibliography", "mathrm", "textwidth"}
    used = set(re.findall(r"\\([A-Za-z]+)", BODY)) - latex
    assert not used - defined, f"macros used but not generated: {sorted(used - defined)}"


def test_the_text_quotes_no_measured_number_by_hand():
    """Decimal numbers and percentages in the text come from macros (generated/macros.tex), so the text
    cannot drift from the results. Comments and the bibliography are not text."""
    text = re.sub(r"(?m)(?<!\\)%.*$", "", BODY)
    text = re.sub(r"\d+(\.\d+)?(pt|cm)", "", text)  # layout lengths
    assert not re.findall(r"\d+\.\d+", text), re.findall(r".{30}\d+\.\d+.{10}", text)
    assert not re.findall(r"\d\s*\\?,?\\%", text)


def test_a_missing_results_file_names_itself_and_its_command(report_script, tmp_path, monkeypatch):
    build = report_script("build")
    monkeypatch.setattr(build, "DATA", tmp_path / "nowhere")
    done = CliRunner().invoke(build.main, ["--out", str(tmp_path / "out")])
    assert done.exit_code != 0
    assert "nowhere" in done.output and "is missing; it is written by" in done.output


def test_markdown_tables_reads_the_first_table_of_each_section(report_script):
    tables = report_script("build").markdown_tables(
        "## A\n\ntext\n\n| x | y |\n|---|---|\n| 1 | 2 |\n\n| z |\n|---|\n| 3 |\n## B\n| p |\n|---|\n| q |\n")
    assert tables == {"A": [["x", "y"], ["1", "2"]], "B": [["p"], ["q"]]}


# --- the built PDF (make test-report) ------------------------------------------------------------


PDF = REPORT / "report.pdf"


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is missing: `make test-report` installs poppler-utils as root before the checks")


@pytest.mark.report
def test_the_paper_has_at_most_eight_pages_and_none_is_blank(tmp_path):
    _need("pdfinfo")
    _need("pdftoppm")
    info = subprocess.run(["pdfinfo", str(PDF)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert 1 <= pages <= 8, f"{pages} pages"
    subprocess.run(["pdftoppm", "-r", "50", "-gray", str(PDF), str(tmp_path / "page")], check=True)
    images = sorted(tmp_path.glob("page-*.pgm"))
    assert len(images) == pages  # every page renders
    for image in images:
        pixels = np.frombuffer(image.read_bytes().split(b"\n", 3)[3], dtype=np.uint8)
        assert (pixels < 230).mean() > 0.005, f"{image.name} is blank"  # a full page of text: about 5 %


@pytest.mark.report
def test_nothing_in_the_paper_is_older_than_what_it_was_built_from():
    generated = REPORT / "generated"
    manifest = json.loads((generated / "manifest.json").read_text())
    for output, inputs in manifest.items():
        built = (generated / output).stat().st_mtime
        for source in inputs:
            assert (ROOT / source).stat().st_mtime <= built, f"{output} is older than {source}: run make report"
    newest = max((generated / name).stat().st_mtime for name in manifest)
    sources = [REPORT / "report.tex", REPORT / "references.bib"]
    assert PDF.stat().st_mtime >= max(newest, *(p.stat().st_mtime for p in sources)), "run make report"
