"""The piano renderer's scheduling, on MIDI files built in the test and a recording fake synthesiser
(the soundfont and music21 corpus are real data: `make data-piano`)."""
from __future__ import annotations

import io

import numpy as np
import pytest

from audiofeat.datasets.piano import midi_events, render_events

mido = pytest.importorskip("mido")


def _midi(tempo_bpm: float = 120) -> bytes:
    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm)))
    track.append(mido.Message("program_change", program=40, channel=0))  # a violin: played on piano anyway
    track.append(mido.Message("note_on", note=60, velocity=90, channel=0, time=0))
    track.append(mido.Message("note_on", note=36, velocity=100, channel=9, time=0))  # percussion: left out
    track.append(mido.Message("note_off", note=60, velocity=0, channel=0, time=480))  # one beat
    track.append(mido.Message("note_on", note=64, velocity=80, channel=1, time=240))
    track.append(mido.Message("note_on", note=64, velocity=0, channel=1, time=960))  # note_on at 0 ends it
    data = io.BytesIO()
    midi.save(file=data)
    return data.getvalue()


def test_midi_events_are_timed_in_seconds_without_percussion():
    assert midi_events(_midi(120)) == [(0.0, 0, 60, 90), (0.5, 0, 60, 0), (0.75, 1, 64, 80), (1.75, 1, 64, 0)]
    assert midi_events(_midi(60))[-1] == (3.5, 1, 64, 0)  # half the tempo, twice the time


class RecordingSynth:
    """Sample index -> event log; each generated sample holds the count of sounding notes."""

    def __init__(self):
        self.position, self.sounding, self.log = 0, set(), []

    def noteon(self, channel, key, velocity):
        self.sounding.add((channel, key))
        self.log.append((self.position, "on", channel, key, velocity))

    def noteoff(self, channel, key):
        self.sounding.discard((channel, key))
        self.log.append((self.position, "off", channel, key))

    def generate(self, samples):
        self.position += samples
        return memoryview(np.full(2 * samples, len(self.sounding), dtype=np.float32).tobytes())


def test_render_places_each_event_at_its_sample_and_adds_the_tail():
    synth = RecordingSynth()
    audio = render_events(midi_events(_midi(120)), synth, sample_rate=1000, tail=0.25)
    assert synth.log == [(0, "on", 0, 60, 90), (500, "off", 0, 60), (750, "on", 1, 64, 80), (1750, "off", 1, 64)]
    assert audio.shape == (2000, 2) and audio.dtype == np.float32
    assert audio[:500].min() == 1 and audio[500:750].max() == 0 and audio[750:1750].min() == 1
    assert audio[1750:].max() == 0  # the tail rings out after the last note-off
