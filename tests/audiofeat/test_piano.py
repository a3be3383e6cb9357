"""The piano renderer's scheduling, on hand-written notes and a recording fake synthesiser (the
soundfont and the music21 corpus are real data: `make data-piano`)."""
from __future__ import annotations

import numpy as np

from audiofeat.datasets.piano import note_events, render_events

# two parts at 120 quarter notes per minute (0.5 s each), then 60 from quarter note 4
TEMPO = [(0.0, 4.0, 0.5), (4.0, 8.0, 1.0)]
PARTS = [
    [(0.0, 1.0, 60, None), (1.0, 1.0, 60, None),  # a repeated note sounds twice
     (2.0, 2.0, 67, "start"), (4.0, 1.0, 67, "stop")],  # tied across the tempo change: one note
    [(3.0, 1.0, 48, "start"), (4.0, 1.0, 48, "continue"), (5.0, 2.0, 48, "stop")],
]


def test_notes_become_timed_events_with_ties_joined_and_tempo_applied():
    events = note_events(PARTS, TEMPO, velocity=80)
    assert events == [(0.0, 0, 60, 80), (0.5, 0, 60, 0), (0.5, 0, 60, 80),  # the off comes first
                      (1.0, 0, 60, 0), (1.0, 0, 67, 80), (1.5, 1, 48, 80), (3.0, 0, 67, 0), (5.0, 1, 48, 0)]


def test_parts_skip_the_percussion_channel_and_time_runs_on_past_the_last_tempo_span():
    parts = [[(0.0, 1.0, 60, None)] for _ in range(11)]
    channels = sorted({channel for _, channel, _, _ in note_events(parts, [(0.0, 1.0, 0.5)])})
    assert channels == [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11]
    assert note_events([[(2.0, 1.0, 60, None)]], [(0.0, 1.0, 0.25)])[-1][0] == 0.75


class RecordingSynth:
    """Logs events at the sample they happen; each generated sample holds the count of sounding notes."""

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
    events = [(0.0, 0, 60, 90), (0.5, 0, 60, 0), (0.75, 1, 64, 80), (1.75, 1, 64, 0)]
    audio = render_events(events, synth, sample_rate=1000, tail=0.25)
    assert synth.log == [(0, "on", 0, 60, 90), (500, "off", 0, 60), (750, "on", 1, 64, 80), (1750, "off", 1, 64)]
    assert audio.shape == (2000, 2) and audio.dtype == np.float32
    assert audio[:500].min() == 1 and audio[500:750].max() == 0 and audio[750:1750].min() == 1
    assert audio[1750:].max() == 0  # the tail rings out after the last note-off
