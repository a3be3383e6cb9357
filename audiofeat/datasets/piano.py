"""Solo piano rendered from scores: a homogeneous, tonal music corpus for MP3net-style models.

The scores are the Palestrina masses and motets of the corpus that ships inside the music21 wheel
(1,318 Humdrum ``.krn`` files, four- to six-voice Renaissance polyphony, about 66 hours at their
own tempo marks or 120 quarter notes per minute). music21 reads each score; its notes (ties joined,
one velocity, as scores carry no dynamics) are played, every voice on General MIDI program 0
(acoustic grand piano) of the FluidR3 GM soundfont from the Debian package ``fluid-soundfont-gm``
(MIT), and rendered in stereo with tinysoundfont, a self-contained SoundFont synthesiser (MIT, PyPI).
Reading the notes directly is 3x faster than writing and re-reading a MIDI file. Pieces are taken in sorted order
until the requested number of hours is reached, so the corpus is the same on every machine.

Why not the soundtrack corpus (:func:`audiofeat.datasets.debian.prepare_music`)? MP3net was shown
on solo piano; 16 hours of mixed orchestral, electronic and ambient game music is a much harder
distribution for a model sized for a CPU. Renders have no performance dynamics or timing, unlike
recorded piano, which the documentation says wherever results are shown.

Layout of ``OUT``::

    OUT/debs, OUT/packages/fluid-soundfont-gm/...   the soundfont (:func:`fetch_package`)
    OUT/audio/palestrina/<score>.flac                 one stereo FLAC per score (16 bit)
    OUT/manifest.csv                                  path, label ``piano/palestrina``, sources, licences

A FLAC is written under a temporary name and renamed, so an interrupted run leaves only complete
files, and a rerun renders only the missing ones.

Rendering needs the optional packages ``music21`` and ``tinysoundfont`` (``make data-piano`` installs
them); the event scheduling (:func:`note_events`, :func:`render_events`) does not.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Protocol

import numpy as np

from audiofeat.datasets.debian import DebianPackage, fetch_package
from audiofeat.datasets.manifest import write_manifest
from audiofeat.exceptions import DataSourceError
from audiofeat.io import audio_info, save_audio

__all__ = ["Note", "PianoResult", "Synth", "corpus_scores", "note_events", "prepare_piano", "render_events"]

SOUNDFONT_PACKAGE = "fluid-soundfont-gm"
SOUNDFONT = "usr/share/sounds/sf2/FluidR3_GM.sf2"
DRUM_CHANNEL = 9  # General MIDI percussion, not played
TAIL_SECONDS = 2.0  # let the last notes ring out
VELOCITY = 90
LICENCE = ("scores: music21 corpus (BSD-3-Clause package; encodings distributed with permission, "
           "music21/corpus/license.txt); soundfont: FluidR3_GM, MIT")


class Synth(Protocol):
    """What :func:`render_events` needs of a synthesiser (``tinysoundfont.Synth`` has it)."""

    def noteon(self, channel: int, key: int, velocity: int) -> None: ...

    def noteoff(self, channel: int, key: int) -> None: ...

    def generate(self, samples: int) -> memoryview: ...


#: One note of a score part: ``(onset, length, key, tie)``, times in quarter notes, ``key`` the MIDI
#: number, ``tie`` ``None``, ``"start"``, ``"continue"`` or ``"stop"`` (music21's names).
Note = tuple[float, float, int, str | None]


def note_events(parts: Sequence[Sequence[Note]], tempo: Sequence[tuple[float, float, float]],
                velocity: int = VELOCITY) -> list[tuple[float, int, int, int]]:
    """The notes of a score's parts as ``(seconds, channel, key, velocity)`` events, velocity 0 for a
    note-off, in playing order (at one instant, note-offs first, so a repeated note sounds again).

    Tied notes are joined into one. Part ``i`` plays on MIDI channel ``i`` (the percussion channel
    skipped, cycling after 15 parts).

    Args:
        parts: the notes of each part.
        tempo: ``(start, end, seconds per quarter note)`` spans covering the score, in quarter notes.
        velocity: of every note (scores carry no performance dynamics).
    """
    def seconds(quarters: float) -> float:
        total, last_end, last_rate = 0.0, 0.0, 0.5
        for start, end, rate in tempo:
            if quarters <= start:
                break
            total += (min(quarters, end) - start) * rate
            last_end, last_rate = end, rate
        return total + max(0.0, quarters - last_end) * last_rate  # past the last span: its tempo goes on

    channels = [c for c in range(16) if c != DRUM_CHANNEL]
    events = []
    for number, notes in enumerate(parts):
        channel = channels[number % len(channels)]
        held: dict[int, float] = {}  # key -> onset of a tied note still going on
        for onset, length, key, tie in sorted(notes, key=lambda n: n[0]):
            begin = held.pop(key, onset) if tie in ("continue", "stop") else onset
            if tie in ("start", "continue"):
                held[key] = begin
                continue
            events += [(seconds(begin), channel, key, velocity), (seconds(onset + length), channel, key, 0)]
    return sorted(events, key=lambda e: (e[0], e[3] > 0))


def render_events(events: Iterable[tuple[float, int, int, int]], synth: Synth, sample_rate: int,
                  tail: float = TAIL_SECONDS) -> np.ndarray:
    """Plays ``(seconds, channel, key, velocity)`` events on ``synth``; returns float32 ``(samples, 2)``.

    Each event starts at the sample nearest its time; ``tail`` seconds follow the last event."""
    blocks, position = [], 0
    for seconds, channel, key, velocity in events:
        start = int(round(seconds * sample_rate))
        if start > position:
            blocks.append(np.frombuffer(synth.generate(start - position), dtype=np.float32).reshape(-1, 2))
            position = start
        if velocity:
            synth.noteon(channel, key, velocity)
        else:
            synth.noteoff(channel, key)
    blocks.append(np.frombuffer(synth.generate(int(round(tail * sample_rate))), dtype=np.float32).reshape(-1, 2))
    return np.concatenate(blocks)


def _score_notes(path: Path) -> tuple[list[list[Note]], list[tuple[float, float, float]]]:
    """A score file's notes per part and its tempo spans, read with music21."""
    import music21

    score = music21.converter.parse(path)
    if not isinstance(score, music21.stream.Score):
        raise DataSourceError(f"{path}: music21 reads a {type(score).__name__}, not a score of parts")
    tempo = [(float(start), float(end), float(mark.secondsPerQuarter()))
             for start, end, mark in score.metronomeMarkBoundaries()]
    parts = [[(float(n.offset), float(n.quarterLength), int(p.midi), n.tie.type if n.tie else None)
              for n in part.flatten().notes for p in n.pitches] for part in score.parts]
    return parts, tempo


def _piano_synth(soundfont: Path, sample_rate: int) -> Synth:
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=sample_rate)
    font = synth.sfload(os.fspath(soundfont))
    for channel in range(16):
        if channel != DRUM_CHANNEL:
            synth.program_select(channel, font, 0, 0)  # every voice on the acoustic grand piano
    return synth


def _render_score(score: Path, target: Path, soundfont: Path, sample_rate: int) -> None:
    events = note_events(*_score_notes(score))
    if not events:
        raise DataSourceError(f"{score}: the score has no notes")
    audio = render_events(events, _piano_synth(soundfont, sample_rate), sample_rate)
    peak = float(np.abs(audio).max())
    if peak == 0.0:
        raise DataSourceError(f"{score}: the render is silent")
    save_audio(target, (0.9 / peak) * audio.T, sample_rate, subtype="PCM_16")  # atomic


@dataclass(frozen=True)
class PianoResult:
    """What :func:`prepare_piano` made: the manifest, the soundfont package, the rows and how many
    scores were rendered by this call (the others were there already)."""

    manifest: Path
    soundfont: DebianPackage
    rows: tuple[dict[str, str], ...]
    rendered: int

    @property
    def hours(self) -> float:
        return sum(float(row["duration_s"]) for row in self.rows) / 3600


def corpus_scores(composer: str = "palestrina") -> list[Path]:
    """The score files of one composer of the music21 corpus, sorted."""
    from music21 import corpus

    return sorted(Path(p) for p in corpus.getComposer(composer) if Path(p).suffix in (".krn", ".mxl", ".xml"))


def prepare_piano(out_dir: str | os.PathLike, *, hours: float = 12.0, sample_rate: int = 22016,
                  scores: Sequence[Path] | None = None, workers: int = 1,
                  on_score: Callable[[Path, float], None] | None = None) -> PianoResult:
    """Renders scores (default: :func:`corpus_scores`) in order until ``hours`` of audio, and writes
    the manifest.

    Args:
        out_dir: the dataset folder (layout in the module docstring).
        hours: stop once this much audio is rendered.
        sample_rate: of the renders (22,016 Hz, MP3net's rate, by default).
        scores: the score files, in the order to take them.
        workers: scores rendered at once, in worker processes when more than 1.
        on_score: called with each score file and its duration once it is rendered or found.

    Raises:
        DataSourceError: the soundfont cannot be fetched, a render is silent, or the scores run out
            before ``hours``.
    """
    import music21

    out_dir = Path(out_dir)
    soundfont_package = fetch_package(SOUNDFONT_PACKAGE, out_dir)
    soundfont = soundfont_package.root / SOUNDFONT
    scores = corpus_scores() if scores is None else list(scores)
    targets = [out_dir / "audio" / score.parent.name / (score.stem + ".flac") for score in scores]
    rows, rendered, total = [], 0, 0.0
    with contextlib.ExitStack() as stack:
        pool = stack.enter_context(ProcessPoolExecutor(workers, mp_context=get_context("spawn"))) \
            if workers > 1 else None
        for begin in range(0, len(scores), max(1, 2 * workers)):  # a few at a time, in order
            if total >= hours * 3600:
                break
            batch = [(s, t) for s, t in zip(scores[begin:begin + 2 * workers], targets[begin:begin + 2 * workers])]
            todo = [(s, t, soundfont, sample_rate) for s, t in batch if not t.exists()]
            if pool and todo:
                list(pool.map(_render_score, *zip(*todo)))
            else:
                for job in todo:
                    _render_score(*job)
            rendered += len(todo)
            for score, target in batch:
                if total >= hours * 3600:
                    break
                info = audio_info(target)
                total += info.duration
                if on_score is not None:
                    on_score(score, info.duration)
                rows.append({"path": target.relative_to(out_dir).as_posix(), "label": f"piano/{score.parent.name}",
                             "score": f"music21 {music21.__version__} corpus/{score.parent.name}/{score.name}",
                             "soundfont": f"{SOUNDFONT_PACKAGE} {soundfont_package.version} FluidR3_GM.sf2",
                             "licence": LICENCE, "duration_s": f"{info.duration:.3f}",
                             "sample_rate": str(info.sample_rate), "channels": str(info.channels)})
    if total < hours * 3600:
        raise DataSourceError(f"the scores give {total / 3600:.1f} h of audio, fewer than the {hours} h asked for")
    manifest = write_manifest(out_dir / "manifest.csv", rows)
    return PianoResult(manifest=manifest, soundfont=soundfont_package, rows=tuple(rows), rendered=rendered)
