"""Real data from Debian packages: keyword table, drumkit.xml and copyright parsing, source mappings,
manifests, fetch idempotence and the CLI, all on small fake packages (no network).

Tests marked ``realdata`` check the output of ``make data-oneshots`` / ``make data-music`` and skip
when it is absent.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from audiofeat.cli import main
from audiofeat.datasets import debian
from audiofeat.datasets.debian import (
    KEYWORD_RULES,
    STAMP_NAME,
    DebianPackage,
    MusicSource,
    classify_name,
    collect_hydrogen,
    collect_lmms,
    collect_sonic_pi,
    fetch_package,
    match_rule,
    normalize_name,
    parse_copyright,
    parse_drumkit,
    prepare_music,
    prepare_oneshots,
)
from audiofeat.datasets.manifest import check_label, write_manifest
from audiofeat.discovery import discover
from audiofeat.exceptions import DataSourceError, ParameterError

ROOT = Path(__file__).resolve().parents[2]

# --- keyword table ---------------------------------------------------------------------------------

NAMES = [
    # hydrogen instrument names
    ("Kick", "drums/kick"),
    ("Kick (Tama Superstar 22\")", "drums/kick"),
    ("BassDrum", "drums/kick"),
    ("c3 - bass drum 1", "drums/kick"),
    ("VariBreaks Kick 1", "drums/kick"),
    ("Snare Rimshot", "drums/snare"),
    ("Snare 2 Rimshot (Pearl Free Floating Maple 14x3.5)", "drums/snare"),
    ("Snare Roll", "drums/snare"),
    ("Rim Click (Pearl Free Floating Maple 14x3.5)", "drums/rim"),
    ("Pearl Side Stick", "drums/rim"),
    ("Stick", "drums/rim"),
    ("Hand Clap", "drums/clap"),
    ("Closed HH", "drums/hihat"),
    ("Side OHH", "drums/hihat"),
    ("SabianHatSemiOpen", "drums/hihat"),
    ("Sabian Hat Swish", "drums/hihat"),
    ("Hi-Hat Pedal (Paiste Alpha Metal edge 14\")", "drums/hihat"),
    ("f#3 - hi-hat closed", "drums/hihat"),
    ("Tom Floor", "drums/tom"),
    ("tomhi2", "drums/tom"),
    ("b3 - low tom", "drums/tom"),
    ("crash16inch", "drums/cymbal"),
    ("ride-cup", "drums/cymbal"),
    ("Crash/Ride Bell (Paiste Rude Crash/Ride 18\")", "drums/cymbal"),
    ("China (Paiste Alpha 18\")", "drums/cymbal"),
    ("Bell", "drums/cymbal"),
    ("Paiste Bell", "drums/cymbal"),
    ("Cowbell", "percussion/cowbell"),
    ("Djembe1 Bass", "percussion/djembe"),
    ("Sangban1 Bell Hit", "percussion/dundun"),
    ("Tambourine Pedal (Pearl PTM-10GH)", "percussion/tambourine"),
    ("Agogo High (Pearl ECB-23)", "percussion/agogo"),
    ("Finger Snaps", "percussion/snap"),
    ("WaterglassHi", "percussion/glass"),
    ("Maraca", "percussion/shaker"),
    ("Click", "percussion/click"),
    ("Zap 1", "fx/zap"),
    ("FX", "fx/other"),
    ("beats_06-38", "loop/slice"),
    # sonic-pi file names
    ("bd_808", "drums/kick"),
    ("drum_bass_hard", "drums/kick"),
    ("drum_cymbal_closed", "drums/hihat"),
    ("drum_cymbal_hard", "drums/cymbal"),
    ("drum_roll", "drums/snare"),
    ("sn_dolf", "drums/snare"),
    ("elec_hi_snare", "drums/snare"),
    ("elec_hollow_kick", "drums/kick"),
    ("elec_triangle", "percussion/triangle"),
    ("elec_blip2", "fx/blip"),
    ("elec_tick", "percussion/click"),
    ("tabla_na_o", "percussion/tabla"),
    ("loop_tabla", "loop/beat"),
    ("loop_drone_g_97", "loop/tonal"),
    ("bass_woodsy_c", "bass/synth"),
    ("bass_hit_c", "bass/synth"),
    ("glitch_bass_g", "fx/glitch"),
    ("mehackit_robot3", "fx/glitch"),
    ("ambi_dark_woosh", "fx/whoosh"),
    ("ambi_piano", "tonal/keys"),
    ("ambi_haunted_hum", "tonal/ambient"),
    ("perc_bell", "tonal/bell"),
    ("perc_till", "percussion/other"),
    ("vinyl_hiss", "fx/vinyl"),
    ("guit_em9", "tonal/guitar"),
    # LMMS "folder file" names
    ("drums nasty_bass01", "drums/kick"),
    ("drums bassdrum_acoustic01", "drums/kick"),
    ("drums hihat_foot_pedal01", "drums/hihat"),
    ("drums clav01", "percussion/clave"),
    ("drums zap02", "fx/zap"),
    ("beats rave_kick01", "loop/beat"),
    ("beats 909beat01", "loop/beat"),
    ("bassloops techno_synth01", "loop/bass"),
    ("basses techno_synth01", "bass/synth"),
    ("instruments bassslap01", "bass/slap"),
    ("instruments violin_double_stop01", "tonal/strings"),
    ("instruments e_piano_accord01", "tonal/keys"),
    ("stringsnpads bell_choir01", "tonal/pad"),
    ("latin latin_brass01", "tonal/wind"),
    ("effects stop01", "fx/sweep"),
    ("effects wind_chimes01", "tonal/bell"),
    ("misc metronome01", "percussion/click"),
    ("misc applause01", "fx/other"),
]


@pytest.mark.parametrize("name, label", NAMES)
def test_keyword_table_labels_real_names(name, label):
    assert classify_name(name) == label


@pytest.mark.parametrize("name", ["Drum 1", "17", "", "redo super opaco", "VP Drum"])
def test_names_without_keywords_are_unclassified(name):
    assert match_rule(name) is None and classify_name(name) is None


@pytest.mark.parametrize("name", ["shapes technobass", "waveforms saw1", "emptySample"])
def test_some_files_are_left_out_on_purpose(name):
    rule = match_rule(name)
    assert rule is not None and rule.label is None and rule.note
    assert classify_name(name) is None


def test_every_rule_label_is_a_valid_manifest_label():
    labels = [rule.label for rule in KEYWORD_RULES if rule.label is not None]
    assert all(check_label(label) == label for label in labels)
    drums = {"drums/kick", "drums/snare", "drums/clap", "drums/hihat", "drums/tom", "drums/cymbal"}
    assert drums <= set(labels)
    assert {label.split("/")[0] for label in labels} == {"drums", "percussion", "bass", "fx", "tonal", "loop"}


@pytest.mark.parametrize("name, words", [
    ("SabianHatSemiOpen", "sabian hat semi open"),
    ("EE_Kick_Lite_1", "ee kick lite 1"),
    ("crash16inch", "crash 16 inch"),
    ("HHOpen", "hh open"),
    ("Crash/Ride (Paiste 18\")", "crash ride paiste 18"),
])
def test_normalize_name(name, words):
    assert normalize_name(name) == words


# --- drumkit.xml and copyright files ---------------------------------------------------------------

DRUMKIT_XML = """<?xml version="1.0" encoding="UTF-8"?>
<drumkit_info xmlns="http://www.hydrogen-music.org/drumkit">
 <name>TestKit</name>
 <author>A. Drummer</author>
 <license>{licence}</license>
 <instrumentList>
  <instrument><id>0</id><name>Kick</name>
   <instrumentComponent><component_id>0</component_id>
    <layer><filename>kick-soft.wav</filename><min>0</min><max>0.5</max></layer>
    <layer><filename>kick-hard.wav</filename><min>0.5</min><max>1</max></layer>
   </instrumentComponent>
  </instrument>
  <instrument><id>1</id><name>Tom Hi</name><filename>tom.wav</filename></instrument>
  <instrument><id>2</id><name>tomhi2</name><filename>tom.wav</filename></instrument>
  <instrument><id>3</id><name>17</name><filename>missing.wav</filename></instrument>
  <instrument><id>4</id><name>Drum 1</name><filename>EE_Drum_1.wav</filename></instrument>
  <instrument><id>5</id><name></name></instrument>
 </instrumentList>
</drumkit_info>
"""


def test_parse_drumkit_reads_names_layers_licence_and_author(tmp_path):
    xml = tmp_path / "drumkit.xml"
    xml.write_text(DRUMKIT_XML.format(licence="CC0"))
    kit = parse_drumkit(xml)
    assert (kit.name, kit.author, kit.licence) == ("TestKit", "A. Drummer", "CC0")
    assert [i.name for i in kit.instruments] == ["Kick", "Tom Hi", "tomhi2", "17", "Drum 1", ""]
    assert kit.instruments[0].files == ("kick-soft.wav", "kick-hard.wav")
    assert kit.instruments[-1].files == ()
    plain = tmp_path / "plain.xml"
    namespace = ' xmlns="http://www.hydrogen-music.org/drumkit"'
    plain.write_text(DRUMKIT_XML.format(licence="").replace(namespace, ""))
    assert parse_drumkit(plain).licence == "" and len(parse_drumkit(plain).instruments) == 6


def test_parse_drumkit_rejects_broken_xml(tmp_path):
    (tmp_path / "drumkit.xml").write_text("<drumkit_info><name>x</drumkit_info>")
    with pytest.raises(DataSourceError, match="drumkit.xml"):
        parse_drumkit(tmp_path / "drumkit.xml")


COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: test

Files: *
Copyright: 2016 Main Author
License: MIT

Files: etc/samples/bd_fat.flac
Copyright: 2013 Someone
Source: http://freesound.org/people/someone/sounds/1/
License: CC0

Files:
 drumkits/Gimme?A?Hand?1.0.h2drumkit
 drumkits/OtherKit.h2drumkit
Copyright: Glen MacArthur
 .
 Second Holder
License: GPL-2
 License text that is
 not the short name.

License: GPL-2
 Standalone licence paragraphs have no Files field.
"""


def test_parse_copyright_last_matching_stanza_wins():
    parsed = parse_copyright(COPYRIGHT)
    assert parsed.machine_readable and len(parsed.stanzas) == 3
    assert parsed.lookup("etc/samples/bd_fat.flac").licence == "CC0"
    assert parsed.lookup("etc/samples/bd_fat.flacx").licence == "MIT"
    assert parsed.lookup("etc/samples/sub/any.flac").licence == "MIT"
    kit = parsed.lookup("drumkits/Gimme A Hand 1.0.h2drumkit")
    assert kit.licence == "GPL-2" and kit.holders == "Glen MacArthur; Second Holder"
    assert parsed.lookup("drumkits/OtherKit.h2drumkit").licence == "GPL-2"


def test_free_form_copyright_is_not_machine_readable():
    parsed = parse_copyright("This package was debianized by someone.\n\nIt is GPL.\n")
    assert not parsed.machine_readable and parsed.lookup("anything") is None


# --- sources, on fake unpacked packages ------------------------------------------------------------


def _wav(path: Path, seconds: float = 0.01, sample_rate: int = 8000, channels: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros((int(seconds * sample_rate), channels), np.float32), sample_rate)
    return path


def _package(root: Path, name: str, copyright_text: str = COPYRIGHT, version: str = "1.0-1") -> DebianPackage:
    doc = root / "usr/share/doc" / name / "copyright"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(copyright_text)
    (root / STAMP_NAME).write_text(json.dumps({"package": name, "version": version, "deb": f"{name}.deb"}))
    return DebianPackage(name=name, version=version, root=root, deb=root / "x.deb", action="present")


def _fake_hydrogen(root: Path) -> DebianPackage:
    package = _package(root, "hydrogen-drumkits")
    kits = root / "usr/share/hydrogen/data/drumkits"
    first = kits / "Gimme A Hand 1.0"
    first.mkdir(parents=True)
    (first / "drumkit.xml").write_text(DRUMKIT_XML.format(licence=""))
    for name in ("kick-soft.wav", "kick-hard.wav", "tom.wav", "EE_Drum_1.wav", "hihat-closed-3.flac"):
        _wav(first / name)
    (first / "README").write_text("not audio")
    second = kits / "OtherKit"
    second.mkdir()
    (second / "drumkit.xml").write_text(DRUMKIT_XML.format(licence="CC-BY-3.0"))
    _wav(second / "kick-soft.wav")
    return package


def test_collect_hydrogen_names_licences_and_unreferenced_files(tmp_path):
    samples = {s.path.relative_to(tmp_path).as_posix(): s for s in collect_hydrogen(_fake_hydrogen(tmp_path))}
    kit = "usr/share/hydrogen/data/drumkits/Gimme A Hand 1.0"
    names = ("kick-soft.wav", "kick-hard.wav", "tom.wav", "EE_Drum_1.wav", "hihat-closed-3.flac")
    other = "usr/share/hydrogen/data/drumkits/OtherKit/kick-soft.wav"
    assert set(samples) == {f"{kit}/{n}" for n in names} | {other}
    assert samples[f"{kit}/tom.wav"].names == ("Tom Hi", "tomhi2", "tom")
    assert samples[f"{kit}/hihat-closed-3.flac"].names == ("hihat-closed-3",)
    # no <license> in the kit: the copyright stanza of its upstream archive; the kit's author is kept
    assert samples[f"{kit}/tom.wav"].licence == "GPL-2"
    assert samples[f"{kit}/tom.wav"].copyright == "A. Drummer"
    assert samples[other].licence == "CC-BY-3.0"
    assert samples[f"{kit}/tom.wav"].original_name == f"/{kit}/tom.wav"
    assert samples[f"{kit}/tom.wav"].kit == "Gimme A Hand 1.0" and samples[other].kit == "OtherKit"


def test_collect_sonic_pi_uses_the_cc0_list_and_the_catch_all(tmp_path):
    package = _package(tmp_path, "sonic-pi-samples")
    folder = tmp_path / "usr/share/sonic-pi/samples"
    for name in ("bd_fat.flac", "drum_cymbal_closed.flac", "ambi_sauna.flac"):
        _wav(folder / name)
    (folder / "README.md").write_text("not audio")
    samples = {s.path.name: s for s in collect_sonic_pi(package)}
    assert set(samples) == {"bd_fat.flac", "drum_cymbal_closed.flac", "ambi_sauna.flac"}
    assert samples["bd_fat.flac"].licence == "CC0" and samples["bd_fat.flac"].copyright == "2013 Someone"
    assert samples["ambi_sauna.flac"].licence == "MIT"
    assert [classify_name(n) for n in samples["drum_cymbal_closed.flac"].names] == ["drums/hihat"]
    assert samples["drum_cymbal_closed.flac"].kit == "sonic-pi:drum" and samples["bd_fat.flac"].kit == "sonic-pi:bd"


def test_collect_lmms_names_files_by_folder(tmp_path):
    package = _package(tmp_path, "lmms-common")
    folder = tmp_path / "usr/share/lmms/samples"
    _wav(folder / "drums/kick01.wav")
    _wav(folder / "shapes/technobass.wav")
    (folder / "drumsynth/tr808").mkdir(parents=True)
    (folder / "drumsynth/tr808/kick.ds").write_text("[General]")
    samples = collect_lmms(package)
    assert [s.names for s in samples] == [("drums kick01",), ("shapes technobass",)]
    assert [s.kit for s in samples] == ["lmms:drums", "lmms:shapes"]
    assert {s.licence for s in samples} == {"MIT"}
    assert [classify_name(s.names[0]) for s in samples] == ["drums/kick", None]


# --- manifests -------------------------------------------------------------------------------------


def test_manifest_round_trip_through_discovery(tmp_path):
    _wav(tmp_path / "pkg/a.wav")
    outside = _wav(tmp_path.parent / f"{tmp_path.name}-outside" / "b.wav")
    rows = [
        {"path": "pkg/a.wav", "label": "drums/kick", "licence": "CC0", "original_name": "/usr/é a.wav"},
        {"path": outside, "label": "music/wesnoth-1.16-music", "duration_s": 1.5},
    ]
    manifest = write_manifest(tmp_path / "manifest.csv", rows)
    header = manifest.read_text(encoding="utf-8").splitlines()[0]
    assert header == "path,label,licence,original_name,duration_s"
    sources, skipped = discover(manifest)
    assert skipped == []
    by_label = {s.label: s for s in sources}
    assert by_label["drums/kick"].path == tmp_path / "pkg/a.wav"
    assert by_label["drums/kick"].meta == {"licence": "CC0", "original_name": "/usr/é a.wav",
                                           "duration_s": ""}
    assert by_label["music/wesnoth-1.16-music"].path == outside
    assert by_label["music/wesnoth-1.16-music"].meta["duration_s"] == "1.5"
    shutil.rmtree(outside.parent)


@pytest.mark.parametrize("row, message", [
    ({"path": "a.wav", "label": "kick"}, "class/subclass"),
    ({"path": "a.wav", "label": "drums//kick"}, "class/subclass"),
    ({"path": "a.wav", "label": "drums/kick drum"}, "class/subclass"),
    ({"path": "", "label": "drums/kick"}, "no path"),
    ({"label": "drums/kick"}, "no path"),
])
def test_write_manifest_rejects_bad_rows(tmp_path, row, message):
    with pytest.raises(ParameterError, match=message):
        write_manifest(tmp_path / "manifest.csv", [row])
    assert not (tmp_path / "manifest.csv").exists()


# --- fetching: idempotence, downloads, archives ----------------------------------------------------


class _Commands:
    """Stands in for `debian._run`: records commands, refuses apt-get, runs the rest."""

    def __init__(self, real, deb_to_download: Path | None = None):
        self.real, self.deb_to_download, self.seen = real, deb_to_download, []

    def __call__(self, command, *, cwd=None, hint=""):
        words = [str(w) for w in command]
        self.seen.append(words[0])
        if words[0] == "apt-get":
            if self.deb_to_download is None:
                raise AssertionError("no download expected")
            shutil.copy(self.deb_to_download, Path(cwd) / self.deb_to_download.name)
            return ""
        return self.real(command, cwd=cwd, hint=hint)


def _build_deb(tmp_path: Path, name: str) -> Path:
    if shutil.which("dpkg-deb") is None:
        pytest.skip("dpkg-deb is not available")
    tree = tmp_path / f"build-{name}"
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN/control").write_text(
        f"Package: {name}\nVersion: 1:2.0-3\nArchitecture: all\nMaintainer: Test <t@example.org>\n"
        "Description: test package\n")
    doc = tree / "usr/share/doc" / name
    doc.mkdir(parents=True)
    doc.joinpath("copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        "Files: *\nCopyright: Someone\nLicense: GPL-2+\n\n"
        "Files: base/music/b.ogg\nCopyright: Other\nLicense: CC-BY-3.0\n")
    music = tree / "usr/share/games/test/base"
    music.mkdir(parents=True)
    with zipfile.ZipFile(music / "0music.pk3", "w") as archive:
        for member in ("music/a.ogg", "music/b.ogg"):
            track = _wav(tmp_path / "tracks" / member.replace(".ogg", ".wav"), seconds=0.5, sample_rate=22050,
                         channels=2)
            ogg = track.with_suffix(".ogg")
            sf.write(ogg, sf.read(track)[0], 22050, format="OGG", subtype="VORBIS")
            archive.write(ogg, member)
        archive.writestr("music/", "")
    deb = tmp_path / f"{name}_2.0-3_all.deb"
    subprocess.run(["dpkg-deb", "-Znone", "--root-owner-group", "--build", str(tree), str(deb)],
                   check=True, capture_output=True)
    return deb


def test_fetch_package_unpacks_a_local_deb_then_reuses_it(tmp_path, monkeypatch):
    deb = _build_deb(tmp_path, "test-music")
    work = tmp_path / "work"
    (work / "debs").mkdir(parents=True)
    shutil.copy(deb, work / "debs")
    commands = _Commands(debian._run)
    monkeypatch.setattr(debian, "_run", commands)
    package = fetch_package("test-music", work, archives=("usr/share/games/test/base/*.pk3",))
    assert package.action == "unpacked" and package.version == "1:2.0-3"
    assert "apt-get" not in commands.seen and "dpkg" in commands.seen
    base = package.root / "usr/share/games/test/base"
    assert sorted(p.name for p in base.iterdir()) == ["music"]  # the archive is replaced by its members
    assert package.expanded == {
        "usr/share/games/test/base/music/a.ogg": "/usr/share/games/test/base/0music.pk3:music/a.ogg",
        "usr/share/games/test/base/music/b.ogg": "/usr/share/games/test/base/0music.pk3:music/b.ogg"}
    assert not list((work / "packages").glob(".*partial"))
    commands.seen.clear()
    again = fetch_package("test-music", work, archives=("usr/share/games/test/base/*.pk3",))
    assert again.action == "present" and commands.seen == []
    assert (again.version, again.expanded, again.deb) == (package.version, package.expanded, package.deb)


def test_fetch_package_downloads_when_no_deb_is_there(tmp_path, monkeypatch):
    deb = _build_deb(tmp_path, "test-music")
    commands = _Commands(debian._run, deb_to_download=deb)
    monkeypatch.setattr(debian, "_run", commands)
    package = fetch_package("test-music", tmp_path / "work")
    assert package.action == "downloaded" and commands.seen[0] == "apt-get"
    assert package.deb == tmp_path / "work/debs" / deb.name and package.deb.is_file()
    assert not (tmp_path / "work/debs/.partial").exists()
    assert (package.root / "usr/share/games/test/base/0music.pk3").is_file()  # no archives asked for


def test_fetch_package_refuses_a_deb_of_another_package(tmp_path, monkeypatch):
    deb = _build_deb(tmp_path, "test-music")
    (tmp_path / "work/debs").mkdir(parents=True)
    shutil.copy(deb, tmp_path / "work/debs/other-music_1_all.deb")
    monkeypatch.setattr(debian, "_run", _Commands(debian._run))
    with pytest.raises(DataSourceError, match="not 'other-music'"):
        fetch_package("other-music", tmp_path / "work")


def test_missing_command_and_failed_command_are_data_source_errors():
    with pytest.raises(DataSourceError, match="not found"):
        debian._run(["surely-not-a-command-audiofeat"])
    with pytest.raises(DataSourceError, match="exit status 3.*try this"):
        debian._run(["sh", "-c", "echo broken >&2; exit 3"], hint="try this")


def test_prepare_music_measures_tracks_and_looks_up_licences(tmp_path, monkeypatch):
    deb = _build_deb(tmp_path, "test-music")
    monkeypatch.setattr(debian, "_run", _Commands(debian._run, deb_to_download=deb))
    source = MusicSource("test-music", r"usr/share/games/test/base/music/.+\.ogg",
                         archives=("usr/share/games/test/base/*.pk3",),
                         installed_prefix="usr/share/games/test/")
    result = prepare_music(tmp_path / "music", sources=[source])
    rows = {Path(r["path"]).name: r for r in result.rows}
    assert set(rows) == {"a.ogg", "b.ogg"}
    assert rows["a.ogg"]["licence"] == "GPL-2+" and rows["b.ogg"]["licence"] == "CC-BY-3.0"
    assert rows["a.ogg"]["label"] == "music/test-music" and rows["a.ogg"]["package_version"] == "1:2.0-3"
    assert float(rows["a.ogg"]["duration_s"]) == pytest.approx(0.5, abs=1e-3)
    assert (rows["a.ogg"]["sample_rate"], rows["a.ogg"]["channels"]) == ("22050", "2")
    assert result.seconds() == {"music/test-music": pytest.approx(1.0, abs=2e-3)}
    sources, _ = discover(result.manifest)
    assert all(s.path.is_file() for s in sources) and len(sources) == 2


def test_prepare_music_with_a_fixed_licence_and_no_tracks(tmp_path, monkeypatch):
    deb = _build_deb(tmp_path, "test-music")
    monkeypatch.setattr(debian, "_run", _Commands(debian._run, deb_to_download=deb))
    fixed = MusicSource("test-music", r".+\.ogg", archives=("usr/share/games/test/base/*.pk3",),
                        licence="CC-BY-SA-3.0", copyright="Composer")
    rows = prepare_music(tmp_path / "music", sources=[fixed]).rows
    assert {(r["licence"], r["copyright"]) for r in rows} == {("CC-BY-SA-3.0", "Composer")}
    with pytest.raises(DataSourceError, match="no file matches"):
        prepare_music(tmp_path / "music", sources=[MusicSource("test-music", r".+\.flac")])


def test_prepare_oneshots_on_present_packages_writes_manifest_and_unclassified(tmp_path, monkeypatch):
    _fake_hydrogen(tmp_path / "packages/hydrogen-drumkits")
    monkeypatch.setattr(debian, "_run", _Commands(lambda *a, **k: pytest.fail("nothing should run")))
    seen = []
    packages = {"hydrogen-drumkits": collect_hydrogen}
    result = prepare_oneshots(tmp_path, packages=packages, on_package=seen.append)
    assert [p.action for p in seen] == ["present"]
    assert result.counts() == {"drums/hihat": 1, "drums/kick": 3, "drums/tom": 1}
    assert [Path(r["path"]).name for r in result.unclassified] == ["EE_Drum_1.wav"]
    assert result.unclassified[0]["reason"] == "no keyword rule matches"
    sources, _ = discover(result.manifest)
    assert len(sources) == 5 and all(s.path.is_file() for s in sources)
    tom = next(s for s in sources if s.label == "drums/tom")
    assert tom.meta["matched_name"] == "tom hi" and tom.meta["source_package"] == "hydrogen-drumkits"
    assert tom.meta["kit"] == "Gimme A Hand 1.0"
    assert result.unclassified_csv.read_text().startswith("path,source_package,package_version,original_name")


def test_cli_data_oneshots_prints_what_it_did(tmp_path, monkeypatch):
    _fake_hydrogen(tmp_path / "packages/hydrogen-drumkits")
    monkeypatch.setattr(debian, "_run", _Commands(lambda *a, **k: pytest.fail("nothing should run")))
    original = debian.prepare_oneshots
    monkeypatch.setattr(debian, "prepare_oneshots", lambda out_dir, on_package: original(
        out_dir, packages={"hydrogen-drumkits": collect_hydrogen}, on_package=on_package))
    done = CliRunner().invoke(main, ["data", "oneshots", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert "hydrogen-drumkits 1.0-1: already present" in done.output
    assert "drums/kick" in done.output and "5 files, 3 labels" in done.output
    assert "1 files unclassified" in done.output


def test_cli_data_reports_errors_without_a_traceback(tmp_path, monkeypatch):
    def refuse(out_dir, on_package):
        raise DataSourceError("apt-get download x failed")

    monkeypatch.setattr(debian, "prepare_music", refuse)
    done = CliRunner().invoke(main, ["data", "music", str(tmp_path)])
    assert done.exit_code == 2 and "apt-get download x failed" in done.output


# --- the real data (make data-oneshots, make data-music) -------------------------------------------

ONESHOTS = ROOT / "data/oneshots/manifest.csv"
MUSIC = ROOT / "data/music/manifest.csv"


@pytest.mark.realdata
@pytest.mark.skipif(not ONESHOTS.is_file(), reason="run `make data-oneshots` first")
def test_real_oneshots_manifest():
    sources, skipped = discover(ONESHOTS)
    assert skipped == [] and len(sources) > 1000
    assert {s.meta["source_package"] for s in sources} == set(debian.ONESHOT_PACKAGES)
    assert all(s.path.is_file() and s.meta["licence"] and s.meta["package_version"] for s in sources)
    counts = {}
    for source in sources:
        counts[source.label] = counts.get(source.label, 0) + 1
    assert all(counts[label] >= 20 for label in ("drums/kick", "drums/snare", "drums/hihat", "drums/tom",
                                                 "drums/cymbal", "drums/clap"))
    sonic_pi = [s for s in sources if s.meta["source_package"] == "sonic-pi-samples"]
    cc0 = [s for s in sonic_pi if s.meta["licence"] == "CC0"]
    assert len(cc0) == 130 and len(sonic_pi) == 165
    for source in sources[::200]:
        data, rate = sf.read(source.path)
        assert len(data) > 0 and rate >= 11025


@pytest.mark.realdata
@pytest.mark.skipif(not MUSIC.is_file(), reason="run `make data-music` first")
def test_real_music_manifest():
    sources, skipped = discover(MUSIC)
    assert skipped == []
    assert {s.label for s in sources} == {f"music/{m.package}" for m in debian.MUSIC_SOURCES}
    hours = sum(float(s.meta["duration_s"]) for s in sources) / 3600
    assert hours > 10
    assert all(s.meta["channels"] == "2" for s in sources)
    short = min(sources, key=lambda s: float(s.meta["duration_s"]))
    assert len(sf.read(short.path)[0]) == sf.info(short.path).frames
