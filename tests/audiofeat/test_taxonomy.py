"""Taxonomies: relabelling a manifest, thin labels refused, and the shipped one-shot taxonomy."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from audiofeat.cli import main
from audiofeat.datasets.debian import KEYWORD_RULES
from audiofeat.datasets.manifest import write_manifest
from audiofeat.datasets.taxonomy import Taxonomy, load_taxonomy, relabel_manifest
from audiofeat.discovery import discover
from audiofeat.exceptions import ConfigError, ParameterError


def _manifest(folder: Path) -> Path:
    rows = [{"path": f"audio/k{i}.wav", "label": "drums/kick", "kit": "A"} for i in range(3)]
    rows += [{"path": f"audio/d{i}.wav", "label": "percussion/djembe", "kit": "B"} for i in range(2)]
    rows += [{"path": "audio/c0.wav", "label": "percussion/conga", "kit": "C"},
             {"path": "audio/l0.wav", "label": "loop/beat", "kit": "C"}]
    for row in rows:
        (folder / row["path"]).parent.mkdir(parents=True, exist_ok=True)
        (folder / row["path"]).write_bytes(b"")
    return write_manifest(folder / "manifest.csv", rows)


def test_relabel_merges_drops_and_keeps_paths_valid(tmp_path):
    source = _manifest(tmp_path / "data")
    taxonomy = Taxonomy({"drums/kick": "drums/kick", "percussion/djembe": "percussion/hand",
                         "percussion/conga": "percussion/hand"}, min_examples=3)
    out = tmp_path / "elsewhere" / "relabelled.csv"
    report = relabel_manifest(source, out, taxonomy)
    assert report.counts == {"drums/kick": 3, "percussion/hand": 3}
    assert report.dropped == {"loop/beat": 1}
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["source_label"] for r in rows if r["label"] == "percussion/hand"} == {"percussion/djembe",
                                                                                  "percussion/conga"}
    assert rows[0]["kit"] == "A"  # metadata columns are kept
    sources, _ = discover(out)  # paths were rewritten relative to the new manifest
    assert len(sources) == 6 and all(s.path.exists() for s in sources)


def test_relabel_refuses_thin_labels_unknown_labels_and_overwriting(tmp_path):
    source = _manifest(tmp_path)
    with pytest.raises(ParameterError, match=r"fewer than 3 files: percussion/hand \(2\)"):
        relabel_manifest(source, tmp_path / "out.csv", Taxonomy({"drums/kick": "drums/kick",
                                                                 "percussion/djembe": "percussion/hand"},
                                                                min_examples=3))
    with pytest.raises(ParameterError, match="does not have: drums/cowbell"):
        relabel_manifest(source, tmp_path / "out.csv", Taxonomy({"drums/cowbell": "drums/cowbell"}))
    with pytest.raises(ParameterError, match="must not overwrite its input"):
        relabel_manifest(source, source, Taxonomy({"drums/kick": "drums/kick"}))
    assert not (tmp_path / "out.csv").exists()
    with pytest.raises(ConfigError, match="'drums/kick' -> '../x'"):
        Taxonomy({"drums/kick": "../x"})


def test_cli_relabel_prints_counts(tmp_path):
    source = _manifest(tmp_path)
    (tmp_path / "tax.toml").write_text('[labels]\n"drums/kick" = "drums/kick"\n')
    result = CliRunner().invoke(main, ["relabel", str(source), str(tmp_path / "out.csv"), "--taxonomy",
                                       str(tmp_path / "tax.toml")])
    assert result.exit_code == 0, result.output
    assert "  drums/kick                   3\n" in result.output and "3 files, 1 labels" in result.output
    assert "left out: 4 files of 3 source labels" in result.output


def test_shipped_oneshot_taxonomy_maps_keyword_table_labels():
    taxonomy = load_taxonomy("pipelines/taxonomies/oneshots.toml")
    known = {rule.label for rule in KEYWORD_RULES if rule.label}
    assert set(taxonomy.labels) <= known
    assert taxonomy.min_examples >= 20
    assert len(set(taxonomy.labels.values())) == 13
    assert set(taxonomy.genres.values()) == set(taxonomy.genre_names.values()) | {"world"} == {
        "electronic", "acoustic", "world"}


def test_genres_come_from_the_kit_then_from_the_file_name_of_mixed_kits(tmp_path):
    rows = [{"path": "a/808_kick.wav", "label": "drums/kick", "kit": "TR808"},
            {"path": "a/acoustic_kick.wav", "label": "drums/kick", "kit": "TR808"},  # the kit decides
            {"path": "b/Kick_Acoustic01.ogg", "label": "drums/kick", "kit": "mixed"},
            {"path": "b/snare_electro01.ogg", "label": "drums/snare", "kit": "mixed"},
            {"path": "b/snare01.ogg", "label": "drums/snare", "kit": "mixed"}]
    source = write_manifest(tmp_path / "manifest.csv", rows)
    taxonomy = Taxonomy({"drums/kick": "drums/kick", "drums/snare": "drums/snare"},
                        genres={"TR808": "electronic"}, genre_names={"acoustic": "acoustic", "electro": "electronic"})
    report = relabel_manifest(source, tmp_path / "out.csv", taxonomy)
    with open(report.manifest, newline="") as handle:
        genres = [row["genre"] for row in csv.DictReader(handle)]
    assert genres == ["electronic", "electronic", "acoustic", "electronic", ""]
    assert report.genre_counts == {"": {"drums/snare": 1}, "acoustic": {"drums/kick": 1},
                                   "electronic": {"drums/kick": 2, "drums/snare": 1}}
    (tmp_path / "tax.toml").write_text('[labels]\n"drums/kick" = "drums/kick"\n[genres]\nTR808 = "electronic"\n')
    result = CliRunner().invoke(main, ["relabel", str(source), str(tmp_path / "out2.csv"), "--taxonomy",
                                       str(tmp_path / "tax.toml")])
    assert "genre electronic: 2 files (drums/kick 2)" in result.output
    assert "genre (none): 1 files (drums/kick 1)" in result.output


def test_genre_rules_refuse_bad_names_unknown_kits_and_manifests_without_kits(tmp_path):
    with pytest.raises(ConfigError, match=r"\[genres\] 'TR808' -> 'Electronic/x'"):
        Taxonomy({"drums/kick": "drums/kick"}, genres={"TR808": "Electronic/x"})
    source = _manifest(tmp_path)
    with pytest.raises(ParameterError, match="kits the manifest does not have: Z"):
        relabel_manifest(source, tmp_path / "out.csv", Taxonomy({"drums/kick": "drums/kick"}, genres={"Z": "world"}))
    plain = write_manifest(tmp_path / "plain.csv", [{"path": "k.wav", "label": "drums/kick"}])
    with pytest.raises(ParameterError, match="no 'kit' column"):
        relabel_manifest(plain, tmp_path / "out.csv", Taxonomy({"drums/kick": "drums/kick"}, genres={"A": "world"}))
    assert not (tmp_path / "out.csv").exists()
