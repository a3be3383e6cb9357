"""Real labelled audio from Debian packages, fetched and unpacked without root.

Two datasets are built here, each as a folder with a CSV manifest (format in
:mod:`audiofeat.datasets.manifest`) that points into the unpacked packages, so no audio is copied:

- **one-shots** (:func:`prepare_oneshots`): the drum kits of ``hydrogen-drumkits`` and
  ``hydrogen-data``, the samples of ``sonic-pi-samples`` and of ``lmms-common``, labelled
  ``class/subclass`` by the keyword table :data:`KEYWORD_RULES`;
- **music** (:func:`prepare_music`): the game soundtracks of :data:`MUSIC_SOURCES`, one label
  ``music/<package>`` per package, with the duration of every track.

Layout of a work folder ``OUT``::

    OUT/debs/<package>_<version>_all.deb     what `apt-get download` fetched
    OUT/packages/<package>/usr/...           what `dpkg -x` unpacked
    OUT/packages/<package>/.debian-package.json   written last: the package is complete
    OUT/manifest.csv                         the labelled files
    OUT/unclassified.csv                     (one-shots only) files left out, with the reason

Idempotence: a package whose ``.debian-package.json`` exists is used as it is (no apt-get, no
dpkg); a ``.deb`` already in ``OUT/debs`` is unpacked without downloading. Unpacking goes to a
temporary folder that is renamed into place, so an interrupted run leaves nothing half-done.
The manifests are rebuilt on every run (this takes about a second) so they always follow the
keyword table.

Downloading needs ``apt-get`` with up-to-date package lists (``apt-get update`` once, as root) and
``dpkg``; nothing is installed into the system.

Labels. Every file gets the text its source gives it: the hydrogen instrument name (then the file
name, when the instrument name says nothing), the sonic-pi file name (its prefix, ``bd_``,
``drum_``, ``elec_``..., is part of the text), or the LMMS folder and file name
(``"drums kick 01"``). :func:`normalize_name` lowercases the text and splits it into words at
punctuation, camel case and digits; :func:`match_rule` then returns the first rule of
:data:`KEYWORD_RULES` whose regular expression is found in it. The order of the rules settles
ambiguous names: loops before instruments (``loop_tabla`` is a loop), hand percussion before the
drum kit (``Djembe1 Bass`` is a djembe stroke, not a bass drum), the drum kit before bass and
tonal sounds (``drum_bass_hard`` and ``BassDrum`` are kicks), explicit names before the catch-all
rules of a source folder. A few rules have no label: they recognise files that are left out on
purpose (single-cycle waveforms, silent placeholders). Files that match no rule are reported as
unclassified.

Licences. Debian records them per file in ``/usr/share/doc/<package>/copyright``; when that file
is machine-readable (DEP-5) the stanza matching the file's upstream path is used
(:meth:`Copyright.lookup`, last match wins), otherwise the licence noted in the source table.
Hydrogen kits carry their own ``<license>`` in ``drumkit.xml``, which takes precedence; kits
without one fall back to the package's copyright file.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from audiofeat.datasets.manifest import write_csv, write_manifest
from audiofeat.exceptions import AudioFileError, DataSourceError
from audiofeat.io import AUDIO_EXTENSIONS, audio_info

__all__ = [
    "KEYWORD_RULES",
    "MUSIC_SOURCES",
    "ONESHOT_PACKAGES",
    "Copyright",
    "CopyrightStanza",
    "DebianPackage",
    "Drumkit",
    "DrumkitInstrument",
    "KeywordRule",
    "MusicResult",
    "MusicSource",
    "OneshotsResult",
    "Sample",
    "classify_name",
    "collect_hydrogen",
    "collect_lmms",
    "collect_sonic_pi",
    "fetch_package",
    "match_rule",
    "normalize_name",
    "parse_copyright",
    "parse_drumkit",
    "prepare_music",
    "prepare_oneshots",
]

STAMP_NAME = ".debian-package.json"

# --- fetching and unpacking ------------------------------------------------------------------------


@dataclass(frozen=True)
class DebianPackage:
    """An unpacked Debian package.

    Attributes:
        name: the package name.
        version: its Debian version (``dpkg-deb --field``).
        root: the folder ``dpkg -x`` unpacked it into.
        deb: the ``.deb`` file it came from.
        action: what :func:`fetch_package` did: ``"present"`` (nothing: it was already unpacked),
            ``"unpacked"`` (from a ``.deb`` already downloaded) or ``"downloaded"`` (apt-get, then
            unpack).
        expanded: files taken out of archives inside the package (``.pk3`` zips), as
            ``{path relative to root: "/installed/archive.pk3:member"}``.
    """

    name: str
    version: str
    root: Path
    deb: Path
    action: Literal["present", "unpacked", "downloaded"]
    expanded: dict[str, str] = field(default_factory=dict)

    def copyright(self) -> Copyright:
        """The package's ``usr/share/doc/<name>/copyright``, parsed."""
        path = self.root / "usr/share/doc" / self.name / "copyright"
        if not path.is_file():
            raise DataSourceError(f"{self.name} {self.version} has no {path}; delete {self.root} and rerun")
        return parse_copyright(path.read_text(encoding="utf-8", errors="replace"))


def _run(command: Sequence[str | os.PathLike], *, cwd: Path | None = None, hint: str = "") -> str:
    """Runs a command and returns its stdout; failures become `DataSourceError` with stderr."""
    words = [os.fspath(word) for word in command]
    try:
        done = subprocess.run(words, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise DataSourceError(
            f"{words[0]} not found: the Debian datasets need a Debian or Ubuntu machine with apt-get and dpkg"
        ) from None
    if done.returncode != 0:
        stderr = " ".join(done.stderr.split())[-600:]
        message = f"`{' '.join(words)}` failed with exit status {done.returncode}: {stderr} {hint}"
        raise DataSourceError(message.strip())
    return done.stdout


def _find_deb(folder: Path, name: str) -> Path | None:
    """The newest ``<name>_*.deb`` in ``folder``, if any."""
    debs = sorted(folder.glob(f"{name}_*.deb"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    return debs[-1] if debs else None


def _download(name: str, folder: Path) -> Path:
    """``apt-get download`` into a scratch folder, then moved into ``folder`` (no partial .deb)."""
    scratch = folder / ".partial"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    _run(["apt-get", "download", name], cwd=scratch,
         hint=f"Run `apt-get update` once (as root) and check `apt-cache policy {name}`.")
    debs = list(scratch.glob(f"{name}_*.deb"))
    if len(debs) != 1:
        raise DataSourceError(f"apt-get download {name} left {len(debs)} .deb files in {scratch}, expected 1")
    target = folder / debs[0].name
    os.replace(debs[0], target)
    scratch.rmdir()
    return target


def _expand_archive(root: Path, archive: Path) -> dict[str, str]:
    """Extracts a zip archive into its own folder (as game engines overlay ``.pk3`` files), then deletes it.

    Returns ``{extracted path relative to root: "/installed/archive.pk3:member"}``.
    """
    base = archive.parent.resolve()
    origin = "/" + archive.relative_to(root).as_posix()
    expanded = {}
    try:
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.infolist():
                if member.is_dir():
                    continue
                target = (base / member.filename).resolve()
                if base not in target.parents:
                    raise DataSourceError(f"{archive}: member {member.filename!r} points outside its folder")
                if target.exists():
                    raise DataSourceError(f"{archive}: member {member.filename!r} would overwrite {target}")
                target.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(member) as source, open(target, "wb") as sink:
                    shutil.copyfileobj(source, sink, 1 << 20)
                expanded[target.relative_to(root.resolve()).as_posix()] = f"{origin}:{member.filename}"
    except zipfile.BadZipFile as error:
        raise DataSourceError(f"{archive} is not a zip archive ({error})") from None
    archive.unlink()
    return expanded


def fetch_package(name: str, work_dir: str | os.PathLike, *, archives: Sequence[str] = ()) -> DebianPackage:
    """Makes ``work_dir/packages/<name>`` hold the unpacked package, doing only what is missing.

    Args:
        name: the Debian package name.
        work_dir: the dataset folder; ``.deb`` files go to ``work_dir/debs``.
        archives: glob patterns, relative to the unpacked tree, of zip archives (``.pk3``) to
            expand in place at unpack time; the archives themselves are then deleted.

    Returns:
        The package; its ``action`` says whether anything was downloaded or unpacked.

    Raises:
        DataSourceError: apt-get or dpkg are missing or fail, or an archive cannot be expanded.
    """
    work_dir = Path(work_dir)
    root = work_dir / "packages" / name
    stamp = root / STAMP_NAME
    if stamp.is_file():
        record = json.loads(stamp.read_text())
        return DebianPackage(name=name, version=record["version"], root=root,
                             deb=work_dir / "debs" / record["deb"], action="present",
                             expanded=record.get("expanded", {}))
    debs = work_dir / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    deb = _find_deb(debs, name)
    action: Literal["unpacked", "downloaded"] = "unpacked"
    if deb is None:
        deb = _download(name, debs)
        action = "downloaded"
    package = _run(["dpkg-deb", "--field", deb, "Package"]).strip()
    if package != name:
        raise DataSourceError(f"{deb} holds package {package!r}, not {name!r}; delete it and rerun")
    version = _run(["dpkg-deb", "--field", deb, "Version"]).strip()
    scratch = root.with_name(f".{name}.partial")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    _run(["dpkg", "-x", deb, scratch])
    expanded: dict[str, str] = {}
    for pattern in archives:
        for archive in sorted(scratch.glob(pattern)):
            expanded.update(_expand_archive(scratch, archive))
    record = {"package": name, "version": version, "deb": deb.name, "expanded": expanded}
    (scratch / STAMP_NAME).write_text(json.dumps(record, indent=2) + "\n")
    if root.exists():
        shutil.rmtree(root)
    os.replace(scratch, root)
    return DebianPackage(name=name, version=version, root=root, deb=deb, action=action, expanded=expanded)


# --- copyright files -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CopyrightStanza:
    """One ``Files:`` paragraph of a machine-readable copyright file.

    Attributes:
        patterns: the ``Files`` patterns (``*`` matches any run of characters, ``/`` included;
            ``?`` matches one character).
        licence: the first line of ``License`` (the short name, e.g. ``GPL-2+``, ``CC0``).
        holders: the ``Copyright`` lines joined with ``"; "``.
    """

    patterns: tuple[str, ...]
    licence: str
    holders: str

    def matches(self, path: str) -> bool:
        return any(_dep5_regex(pattern).fullmatch(path) for pattern in self.patterns)


def _dep5_regex(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern), re.S)


@dataclass(frozen=True)
class Copyright:
    """A parsed ``debian/copyright``.

    Attributes:
        machine_readable: the file follows the DEP-5 format (its first paragraph has ``Format:``).
        stanzas: its ``Files`` paragraphs in file order (empty when not machine-readable).
    """

    machine_readable: bool
    stanzas: tuple[CopyrightStanza, ...]

    def lookup(self, path: str) -> CopyrightStanza | None:
        """The stanza that governs ``path`` (a path in the upstream source tree): the last match."""
        found = None
        for stanza in self.stanzas:
            if stanza.matches(path):
                found = stanza
        return found


def _paragraphs(text: str) -> list[dict[str, list[str]]]:
    """Splits deb822 text into paragraphs of ``{lowercased field: [first line, continuation lines...]}``."""
    paragraphs: list[dict[str, list[str]]] = []
    current: dict[str, list[str]] = {}
    last = None
    for line in text.splitlines():
        if not line.strip():
            if current:
                paragraphs.append(current)
            current, last = {}, None
        elif line[0] in " \t":
            if last is not None:
                current[last].append(line.strip())
        elif ":" in line:
            key, value = line.split(":", 1)
            last = key.strip().lower()
            current[last] = [value.strip()]
    if current:
        paragraphs.append(current)
    return paragraphs


def parse_copyright(text: str) -> Copyright:
    """Parses a Debian copyright file; only DEP-5 files yield stanzas."""
    paragraphs = _paragraphs(text)
    if not paragraphs or "format" not in paragraphs[0]:
        return Copyright(machine_readable=False, stanzas=())
    stanzas = []
    for paragraph in paragraphs:
        if "files" not in paragraph:
            continue
        patterns = tuple(" ".join(paragraph["files"]).split())
        licence = paragraph.get("license", [""])[0]
        holders = "; ".join(line for line in paragraph.get("copyright", []) if line and line != ".")
        stanzas.append(CopyrightStanza(patterns=patterns, licence=licence, holders=holders))
    return Copyright(machine_readable=True, stanzas=tuple(stanzas))


# --- the keyword table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class KeywordRule:
    """One row of the keyword table.

    Attributes:
        pattern: regular expression searched in the normalised name (:func:`normalize_name`).
        label: ``class/subclass``, or ``None`` for files left out on purpose.
        note: what the rule is for (shown in ``unclassified.csv`` for rules without a label).
    """

    pattern: str
    label: str | None
    note: str

    def search(self, text: str) -> bool:
        return re.search(self.pattern, text) is not None


#: The keyword table, in priority order: the first rule found in a name decides its label.
KEYWORD_RULES: tuple[KeywordRule, ...] = (
    # left out on purpose
    KeywordRule(r"^(shapes|waveforms)\b", None, "LMMS single-cycle oscillator shapes, not one-shots"),
    KeywordRule(r"\bempty ?sample\b", None, "silent placeholder of empty hydrogen kit slots"),
    # loops, before instruments: a kick loop is a loop
    KeywordRule(r"^beats \d+ \d+$", "loop/slice", "numbered cuts of drum loops (rumpf kit beats_06-38)"),
    KeywordRule(r"^bassloops\b|\bbass ?loops?\b|^loop\b.*\bbass\b", "loop/bass",
                "bass loops (LMMS bassloops/)"),
    KeywordRule(r"^loop\b.*\bdrone\b", "loop/tonal", "drone loops"),
    KeywordRule(r"^(loop|beats)\b|\bloops?\b|\bbreak ?beats?\b|\bamen\b", "loop/beat",
                "sonic-pi loop_*, LMMS beats/, breakbeats"),
    # hand and world percussion, before the drum kit: "djembe bass" is a djembe stroke
    KeywordRule(r"\bdjembe", "percussion/djembe", "djembe bass, tone and slap"),
    KeywordRule(r"\b(dun ?dun|dununba|sangban|kenkeni)", "percussion/dundun", "dundun drums and their bells"),
    KeywordRule(r"\bconga", "percussion/conga", "congas"),
    KeywordRule(r"\bbongo", "percussion/bongo", "bongos"),
    KeywordRule(r"\bcajon", "percussion/cajon", "cajon"),
    KeywordRule(r"\btabla\b", "percussion/tabla", "tabla strokes"),
    KeywordRule(r"\bcow ?bell", "percussion/cowbell", "cowbell"),
    KeywordRule(r"\bagogo", "percussion/agogo", "agogo bells"),
    KeywordRule(r"\bclav(e|es)?\b", "percussion/clave", "claves (LMMS clav01)"),
    KeywordRule(r"\bwood ?block|\bwood\b", "percussion/woodblock", "woodblock"),
    KeywordRule(r"\btambourine|\btamb\b", "percussion/tambourine", "tambourine"),
    KeywordRule(r"\bshaker|\bmaracas?\b|\bcabasa\b", "percussion/shaker", "shakers and maracas"),
    KeywordRule(r"\btriangle", "percussion/triangle", "triangle"),
    KeywordRule(r"\b(finger ?)?snaps?\b", "percussion/snap", "finger snaps"),
    KeywordRule(r"\bwhistle", "percussion/whistle", "whistle"),
    KeywordRule(r"\bwater ?glass", "percussion/glass", "struck glasses"),
    # the drum kit
    KeywordRule(r"\bhi ?hats?\b|\bhats?\b|\b[co]?hh\b|\bcymbal (closed|open|pedal)\b", "drums/hihat",
                "hi-hats: closed, open, pedal (sonic-pi drum_cymbal_closed is a hi-hat)"),
    KeywordRule(r"\b(hand ?)?claps?\b", "drums/clap", "hand claps"),
    KeywordRule(r"\bkick|\bbass ?drum|\bbd\b|\bdrums? (\w+ )?bass\b", "drums/kick",
                "kicks; bass drum, bd_, and 'bass' right after 'drum' (drum_bass_hard, drums/nasty_bass)"),
    KeywordRule(r"\bsnare|\bsn\b|\bsd\b|\bdrum roll\b", "drums/snare", "snares, snare rimshots, rolls"),
    KeywordRule(r"\brim|\bside ?stick|\bstick\b", "drums/rim", "rim clicks and side sticks"),
    KeywordRule(r"\btom(s|hi|lo|mid)?\b|\bfloor ?tom", "drums/tom", "toms"),
    KeywordRule(r"\bcymbals?\b|\bcrash|\bride\b|\bsplash|\bchina\b|\b(paiste|sabian|zildjian) bell\b|^bell$",
                "drums/cymbal", "crash, ride, splash, china; a kit's bare 'Bell' is the ride bell (GM 53)"),
    # effects
    KeywordRule(r"\b(click|tick|metronome)\b", "percussion/click", "clicks and metronome ticks"),
    KeywordRule(r"\b(whoosh|woosh|swoosh|swish)\b", "fx/whoosh", "whooshes"),
    KeywordRule(r"\bzap", "fx/zap", "laser zaps"),
    KeywordRule(r"\b(scratch|backspin|rewind|vinyl)\b", "fx/vinyl", "turntable effects"),
    KeywordRule(r"\b(explode|explosion|impact|cineboom)\b", "fx/impact", "impacts and explosions"),
    KeywordRule(r"\b(sweep|warp|riser)\b|^effects (start|stop)\b", "fx/sweep",
                "filter sweeps, warps, tape starts and stops"),
    KeywordRule(r"^glitch\b|\brobot|\bphone\b", "fx/glitch", "glitches, robot voices, phone noises"),
    KeywordRule(r"\b(noise|hiss|buzz)\b", "fx/noise", "noise and buzz"),
    # bass
    KeywordRule(r"\bbass ?slap|\bbassslap\b", "bass/slap", "slapped electric bass"),
    KeywordRule(r"^basses\b|\bbass", "bass/synth", "bass notes (LMMS basses/, sonic-pi bass_)"),
    # tonal
    KeywordRule(r"\b(e ?)?piano|\borgan\b|\bharpsichord|\bkeys\b", "tonal/keys", "piano, organ, harpsichord"),
    KeywordRule(r"\bguit(ar)?\b", "tonal/guitar", "guitar notes and chords"),
    KeywordRule(r"\bviolin|\bcello|\bstrings?\b", "tonal/strings", "bowed and plucked strings"),
    KeywordRule(r"\bflute|\btrumpet|\bbrass\b|\bsax", "tonal/wind", "wind and brass"),
    KeywordRule(r"\bpad\b|\bdrone|\bchoir|\bchorus\b|^stringsnpads\b", "tonal/pad", "pads, drones, choirs"),
    KeywordRule(r"\bbells?\b|\bchimes?\b|\bdong\b|\bbong\b|\bping\b", "tonal/bell", "bells and chimes"),
    KeywordRule(r"^ambi\b", "tonal/ambient", "sonic-pi ambi_ textures"),
    KeywordRule(r"\bsynth|\bpluck|\blead\b|\btwang\b", "tonal/synth", "synth notes"),
    # catch-alls of a source folder or prefix, last
    KeywordRule(r"\b(beep|blip|blup|plip|twip|flip|pop)\b|^elec\b", "fx/blip",
                "electronic blips (sonic-pi elec_)"),
    KeywordRule(r"^perc\b", "percussion/other", "other sonic-pi perc_ sounds"),
    KeywordRule(r"\bfx\b|^(effects|misc|mehackit)\b", "fx/other", "other effects (LMMS effects/ and misc/)"),
)


def normalize_name(name: str) -> str:
    """Lowercase words of a name: split at punctuation, camel case and letter/digit boundaries.

    ``"SabianHatSemiOpen"`` -> ``"sabian hat semi open"``, ``"EE_Kick_Lite_1"`` -> ``"ee kick lite 1"``,
    ``"crash16inch"`` -> ``"crash 16 inch"``, ``"HHOpen"`` -> ``"hh open"``.
    """
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", name)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    text = re.sub(r"([A-Za-z])(\d)", r"\1 \2", text)
    text = re.sub(r"(\d)([A-Za-z])", r"\1 \2", text)
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def match_rule(name: str) -> KeywordRule | None:
    """The first rule of :data:`KEYWORD_RULES` found in ``normalize_name(name)``, or ``None``."""
    text = normalize_name(name)
    return next((rule for rule in KEYWORD_RULES if rule.search(text)), None)


def classify_name(name: str) -> str | None:
    """The label of ``name`` by the keyword table; ``None`` if no rule matches or it is left out."""
    rule = match_rule(name)
    return None if rule is None else rule.label


# --- sources of one-shots --------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """An audio file of a package and what the manifest will say about it.

    Attributes:
        path: the file, absolute.
        names: the names to classify, tried in order until one matches a rule.
        licence: licence of this file.
        copyright: its copyright holders.
        original_name: where the package installs it (``/usr/share/...``).
        kit: the set of recordings the file belongs to (a hydrogen kit folder, a sonic-pi file-name
            prefix such as ``sonic-pi:drum``, an LMMS sample folder such as ``lmms:drums``): velocity
            layers and siblings of one kit are near-copies, so evaluation holds out whole kits.
    """

    path: Path
    names: tuple[str, ...]
    licence: str
    copyright: str
    original_name: str
    kit: str


@dataclass(frozen=True)
class DrumkitInstrument:
    """An ``<instrument>`` of a hydrogen kit: its ``name`` and the ``filename`` of each layer."""

    name: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class Drumkit:
    """A parsed hydrogen ``drumkit.xml``; ``licence`` and ``author`` are ``""`` when absent."""

    name: str
    author: str
    licence: str
    instruments: tuple[DrumkitInstrument, ...]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child_text(element: ET.Element, name: str) -> str:
    for child in element:
        if _local(child.tag) == name:
            return " ".join((child.text or "").split())
    return ""


def parse_drumkit(path: str | os.PathLike) -> Drumkit:
    """Reads a hydrogen ``drumkit.xml`` (with or without the hydrogen XML namespace).

    Every ``<instrument>`` gives its ``<name>`` and the ``<filename>`` of all its layers
    (velocity layers, in any ``<instrumentComponent>``), in document order.

    Raises:
        DataSourceError: the file is not well-formed XML.
    """
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as error:
        raise DataSourceError(f"{path}: not a valid drumkit.xml ({error})") from None
    instruments = []
    for element in root.iter():
        if _local(element.tag) != "instrument":
            continue
        files = tuple(" ".join((f.text or "").split()) for f in element.iter() if _local(f.tag) == "filename")
        name = _child_text(element, "name")
        instruments.append(DrumkitInstrument(name=name, files=tuple(f for f in files if f)))
    return Drumkit(name=_child_text(root, "name"), author=_child_text(root, "author"),
                   licence=_child_text(root, "license"), instruments=tuple(instruments))


def _is_audio(path: Path) -> bool:
    return path.suffix.lower() in AUDIO_EXTENSIONS and path.is_file() and not path.is_symlink()


def _installed(package: DebianPackage, path: Path) -> str:
    return "/" + path.relative_to(package.root).as_posix()


def _from_copyright(copyright: Copyright, source_path: str, package: DebianPackage) -> tuple[str, str]:
    stanza = copyright.lookup(source_path)
    if stanza is None:
        raise DataSourceError(f"{package.name}: the copyright file has no stanza for {source_path}")
    return stanza.licence, stanza.holders


_MEANINGLESS_LICENCES = {"", "undefined license", "unknown"}


def collect_hydrogen(package: DebianPackage) -> list[Sample]:
    """The samples of every hydrogen kit under ``usr/share/hydrogen/data/drumkits`` of a package.

    Files referenced by instruments are named by the instrument, then by their own file name; files
    of the kit folder that no instrument references are named by their file name. A file referenced
    by several instruments appears once, with all their names. Licence and copyright: the kit's
    ``<license>`` and ``<author>``; a kit without a licence falls back to the copyright stanza of
    ``drumkits/<kit folder>.h2drumkit`` (the upstream archive of the kit).
    """
    copyright = package.copyright()
    samples: list[Sample] = []
    for xml in sorted((package.root / "usr/share/hydrogen/data/drumkits").glob("*/drumkit.xml")):
        kit_dir = xml.parent
        kit = parse_drumkit(xml)
        licence, holders = kit.licence, kit.author
        if licence.lower() in _MEANINGLESS_LICENCES:
            archive = f"drumkits/{kit_dir.name}.h2drumkit"
            licence, stanza_holders = _from_copyright(copyright, archive, package)
            holders = holders or stanza_holders
        named: dict[Path, list[str]] = {}
        for instrument in kit.instruments:
            for filename in instrument.files:
                path = kit_dir / filename
                if _is_audio(path) and instrument.name:
                    named.setdefault(path, []).append(instrument.name)
        for path in sorted(p for p in kit_dir.iterdir() if _is_audio(p)):
            named.setdefault(path, [])
        for path, names in named.items():
            samples.append(Sample(path=path, names=(*names, path.stem), licence=licence,
                                  copyright=holders, original_name=_installed(package, path), kit=kit_dir.name))
    return samples


def collect_sonic_pi(package: DebianPackage) -> list[Sample]:
    """The samples of ``usr/share/sonic-pi/samples``, named by their file name (prefix included).

    Licence per file from the copyright file (``etc/samples/<file>`` upstream): the samples listed
    there one by one are CC0, the others fall under the package's catch-all ``Files: *``.
    """
    copyright = package.copyright()
    folder = package.root / "usr/share/sonic-pi/samples"
    samples = []
    for path in sorted(p for p in folder.iterdir() if _is_audio(p)):
        licence, holders = _from_copyright(copyright, f"etc/samples/{path.name}", package)
        samples.append(Sample(path=path, names=(path.stem,), licence=licence, copyright=holders,
                              original_name=_installed(package, path), kit=f"sonic-pi:{path.stem.split('_')[0]}"))
    return samples


def collect_lmms(package: DebianPackage) -> list[Sample]:
    """The samples of ``usr/share/lmms/samples``, named ``"<folder> <file name>"``.

    Licence per file from the copyright file (``data/samples/...`` upstream, GPL-2+ by its
    ``Files: *``). DrumSynth presets (``.ds``) are not audio and are not listed.
    """
    copyright = package.copyright()
    folder = package.root / "usr/share/lmms/samples"
    samples = []
    for path in sorted(p for p in folder.rglob("*") if _is_audio(p)):
        relative = path.relative_to(folder)
        licence, holders = _from_copyright(copyright, f"data/samples/{relative.as_posix()}", package)
        name = " ".join([*relative.parent.parts, path.stem])
        samples.append(Sample(path=path, names=(name,), licence=licence, copyright=holders,
                              original_name=_installed(package, path), kit=f"lmms:{relative.parts[0]}"))
    return samples


#: What lists the samples of an unpacked package.
Collector = Callable[[DebianPackage], list[Sample]]

#: The one-shot packages and the function that lists the samples of each.
ONESHOT_PACKAGES: dict[str, Collector] = {
    "hydrogen-drumkits": collect_hydrogen,
    "hydrogen-data": collect_hydrogen,
    "sonic-pi-samples": collect_sonic_pi,
    "lmms-common": collect_lmms,
}


@dataclass(frozen=True)
class OneshotsResult:
    """What :func:`prepare_oneshots` made.

    Attributes:
        manifest: ``OUT/manifest.csv``.
        unclassified_csv: ``OUT/unclassified.csv``.
        packages: the packages, with what was done to each.
        rows: the manifest rows.
        unclassified: the rows of ``unclassified.csv`` (files left out, with the reason).
    """

    manifest: Path
    unclassified_csv: Path
    packages: tuple[DebianPackage, ...]
    rows: tuple[dict[str, str], ...]
    unclassified: tuple[dict[str, str], ...]

    def counts(self) -> dict[str, int]:
        """Files per label, sorted by label."""
        return dict(sorted(Counter(row["label"] for row in self.rows).items()))


def _relative(path: Path, base: Path) -> str:
    return Path(os.path.relpath(path, base)).as_posix()


def _classify_samples(package: DebianPackage, samples: Iterable[Sample], base: Path
                      ) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Manifest rows for the samples a rule labels, and rows for ``unclassified.csv`` for the others."""
    rows, left_out = [], []
    for sample in samples:
        path = _relative(sample.path, base)
        tried = [(name, match_rule(name)) for name in sample.names]
        name, rule = next(((n, r) for n, r in tried if r is not None), (sample.names[0], None))
        if rule is None or rule.label is None:
            left_out.append({
                "path": path, "source_package": package.name, "package_version": package.version,
                "original_name": sample.original_name,
                "names": " | ".join(normalize_name(n) for n in sample.names),
                "reason": "no keyword rule matches" if rule is None else f"left out: {rule.note}"})
            continue
        rows.append({
            "path": path, "label": rule.label, "source_package": package.name,
            "package_version": package.version, "licence": sample.licence, "copyright": sample.copyright,
            "original_name": sample.original_name, "matched_name": normalize_name(name), "kit": sample.kit})
    return rows, left_out


def prepare_oneshots(out_dir: str | os.PathLike, *, packages: Mapping[str, Collector] = ONESHOT_PACKAGES,
                     on_package: Callable[[DebianPackage], None] | None = None) -> OneshotsResult:
    """Fetches the one-shot packages into ``out_dir`` and writes its manifest.

    Args:
        out_dir: the dataset folder (layout in the module docstring).
        packages: package name -> function listing its samples (default :data:`ONESHOT_PACKAGES`).
        on_package: called with each package once it is ready (the CLI prints from it).

    Returns:
        The manifest, the left-out files and what was done per package.

    Raises:
        DataSourceError: a package cannot be fetched or its copyright file read.
    """
    out_dir = Path(out_dir)
    fetched, rows, left_out = [], [], []
    for name, collect in packages.items():
        package = fetch_package(name, out_dir)
        if on_package is not None:
            on_package(package)
        fetched.append(package)
        kept, dropped = _classify_samples(package, collect(package), out_dir)
        rows.extend(kept)
        left_out.extend(dropped)
    manifest = write_manifest(out_dir / "manifest.csv", rows)
    columns = ("path", "source_package", "package_version", "original_name", "names", "reason")
    unclassified = write_csv(out_dir / "unclassified.csv", left_out, columns=columns)
    return OneshotsResult(manifest=manifest, unclassified_csv=unclassified, packages=tuple(fetched),
                          rows=tuple(rows), unclassified=tuple(left_out))


# --- music -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MusicSource:
    """A soundtrack package.

    Attributes:
        package: the Debian package.
        include: regular expression that the path of a track, relative to the unpacked tree, must
            match in full (after ``.pk3`` archives are expanded in place).
        archives: glob patterns of zip archives (``.pk3``) to expand in place at unpack time.
        installed_prefix: where the package installs its upstream tree, and
        source_prefix: what that prefix is called in the upstream tree: a track's copyright path
            is ``source_prefix + path[len(installed_prefix):]``.
        licence: the licence of every track, for copyright files that are not machine-readable;
            ``None`` to look it up per track in the (DEP-5) copyright file.
        copyright: the copyright holders when ``licence`` is given.
    """

    package: str
    include: str
    archives: tuple[str, ...] = ()
    installed_prefix: str = ""
    source_prefix: str = ""
    licence: str | None = None
    copyright: str = ""


#: The Debian soundtrack packages of the music corpus (docs/data.md: 230 tracks, 16.8 h).
MUSIC_SOURCES: tuple[MusicSource, ...] = (
    MusicSource("ufoai-music", r"usr/share/games/ufoai/base/music/.+\.ogg",
                archives=("usr/share/games/ufoai/base/*.pk3",), installed_prefix="usr/share/games/ufoai/"),
    MusicSource("warzone2100-music", r"usr/share/games/warzone2100/music/.+\.opus"),
    MusicSource("planetblupi-music-ogg", r"usr/share/planetblupi/music/.+\.ogg"),
    MusicSource("wesnoth-1.16-music", r"usr/share/games/wesnoth/1\.16/data/core/music/.+\.ogg",
                licence="GPL-2+", copyright="2003-2009 David White and the Battle for Wesnoth contributors"),
    MusicSource("nexuiz-music", r"usr/share/games/nexuiz/data/sound/cdtracks/.+\.ogg",
                archives=("usr/share/games/nexuiz/data/*.pk3",),
                licence="GPL-2+", copyright="2002-2009 Alientrap, Lee Vermeulen"),
    MusicSource("singularity-music", r"usr/share/games/singularity/music/.+\.ogg",
                licence="CC-BY-SA-3.0", copyright="2007-2008, 2012 Max McCracken"),
    MusicSource("drascula-music", r"usr/share/scummvm/drascula/audio/.+\.ogg"),
    MusicSource("hyperrogue-music", r"usr/share/hyperrogue/music/.+\.ogg",
                installed_prefix="usr/share/hyperrogue/"),
    MusicSource("asc-music", r"usr/share/games/asc/music/.+\.mp3"),
)


@dataclass(frozen=True)
class MusicResult:
    """What :func:`prepare_music` made: the manifest, the packages and the rows (one per track)."""

    manifest: Path
    packages: tuple[DebianPackage, ...]
    rows: tuple[dict[str, str], ...]

    def seconds(self) -> dict[str, float]:
        """Total duration per label, in seconds."""
        totals: dict[str, float] = {}
        for row in self.rows:
            totals[row["label"]] = totals.get(row["label"], 0.0) + float(row["duration_s"])
        return dict(sorted(totals.items()))


def _music_rows(source: MusicSource, package: DebianPackage, base: Path) -> list[dict[str, str]]:
    include = re.compile(source.include)
    copyright = None if source.licence is not None else package.copyright()
    rows = []
    for path in sorted(p for p in package.root.rglob("*") if _is_audio(p)):
        relative = path.relative_to(package.root).as_posix()
        if not include.fullmatch(relative):
            continue
        if copyright is None:
            licence, holders = source.licence or "", source.copyright
        else:
            if not relative.startswith(source.installed_prefix):
                raise DataSourceError(f"{source.package}: {relative} is not under {source.installed_prefix}")
            upstream = source.source_prefix + relative[len(source.installed_prefix):]
            licence, holders = _from_copyright(copyright, upstream, package)
        try:
            info = audio_info(path)
        except AudioFileError as error:
            raise DataSourceError(f"{source.package}: {error}") from None
        rows.append({
            "path": _relative(path, base), "label": f"music/{source.package}",
            "source_package": source.package, "package_version": package.version,
            "licence": licence, "copyright": holders,
            "original_name": package.expanded.get(relative, "/" + relative),
            "duration_s": f"{info.duration:.3f}", "sample_rate": str(info.sample_rate),
            "channels": str(info.channels), "codec": f"{info.format}/{info.subtype}",
        })
    if not rows:
        raise DataSourceError(f"{source.package} {package.version}: no file matches {source.include}")
    return rows


def prepare_music(out_dir: str | os.PathLike, *, sources: Sequence[MusicSource] = MUSIC_SOURCES,
                  on_package: Callable[[DebianPackage], None] | None = None) -> MusicResult:
    """Fetches the soundtrack packages into ``out_dir`` and writes its manifest.

    Durations are read from the file headers (:func:`audiofeat.io.audio_info`), which for these
    Vorbis, Opus and MP3 files equal the decoded lengths.

    Args:
        out_dir: the dataset folder (layout in the module docstring).
        sources: the packages (default :data:`MUSIC_SOURCES`).
        on_package: called with each package once it is ready (the CLI prints from it).

    Raises:
        DataSourceError: a package cannot be fetched, has no tracks, or has an unreadable track.
    """
    out_dir = Path(out_dir)
    fetched, rows = [], []
    for source in sources:
        package = fetch_package(source.package, out_dir, archives=source.archives)
        if on_package is not None:
            on_package(package)
        fetched.append(package)
        rows.extend(_music_rows(source, package, out_dir))
    manifest = write_manifest(out_dir / "manifest.csv", rows)
    return MusicResult(manifest=manifest, packages=tuple(fetched), rows=tuple(rows))
