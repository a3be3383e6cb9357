from __future__ import annotations

import io
import os
import signal

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio.functional as AF

from audiofeat.exceptions import AudioFileError, ParameterError
from audiofeat.io import (
    _resample_any_ratio,
    file_problem,
    fix_length,
    list_audio_files,
    load_audio,
    peak_normalize,
    read_audio,
    resample,
    save_audio,
    scan_audio_files,
    to_channels,
)


def _tone(freq: float, sample_rate: int, seconds: float, channels: int = 1) -> np.ndarray:
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    x = 0.5 * np.sin(2 * np.pi * freq * t)
    return np.stack([x * (0.5 + 0.5 * c) for c in range(channels)], axis=1).astype(np.float32)


@pytest.mark.parametrize("suffix, subtype, atol", [
    (".wav", "PCM_16", 1e-4), (".flac", "PCM_24", 1e-6), (".aiff", "PCM_16", 1e-4), (".ogg", "VORBIS", 0.05)])
def test_formats_round_trip(tmp_path, suffix, subtype, atol):
    data = _tone(440, 16000, 0.5, channels=2)
    path = tmp_path / f"tone{suffix}"
    sf.write(path, data, 16000, subtype=subtype)
    waveform, rate = load_audio(path, channels="keep")
    assert rate == 16000
    assert waveform.dtype == torch.float32
    assert waveform.shape == (2, data.shape[0])
    if suffix == ".ogg":  # lossy: compare energy per channel, not samples
        np.testing.assert_allclose(waveform.pow(2).mean(1).numpy(), (data ** 2).mean(0), rtol=0.1)
    else:
        np.testing.assert_allclose(waveform.numpy(), data.T, atol=atol)


def test_resample_keeps_frequency_and_duration(tmp_path):
    path = tmp_path / "tone.wav"
    sf.write(path, _tone(1000, 44100, 1.0), 44100, subtype="FLOAT")
    waveform, rate = load_audio(path, sample_rate=16000)
    assert rate == 16000 and waveform.shape == (1, 16000)
    spectrum = np.abs(np.fft.rfft(waveform[0].numpy()))
    assert abs(int(np.argmax(spectrum)) - 1000) <= 1  # 1 Hz bins over one second


def test_channel_policies():
    stereo = torch.stack([torch.ones(10), -torch.ones(10) * 0.5])
    assert torch.allclose(to_channels(stereo, 1), torch.full((1, 10), 0.25))
    assert to_channels(stereo, "keep") is stereo
    mono = torch.arange(4.0)[None]
    assert torch.equal(to_channels(mono, 2), mono.expand(2, -1))
    assert to_channels(torch.zeros(6, 3), 2).shape == (2, 3)
    with pytest.raises(ParameterError, match="channels"):
        to_channels(stereo, 0)


def test_fix_length_policies(generator):
    x = torch.arange(10.0)[None]
    assert torch.equal(fix_length(x, 4), x[:, :4])
    assert torch.equal(fix_length(x, 4, crop="end"), x[:, 6:])
    assert torch.equal(fix_length(x, 4, crop="center"), x[:, 3:7])
    random_crop = fix_length(x, 4, crop="random", generator=generator)
    start = int(random_crop[0, 0])
    assert torch.equal(random_crop, x[:, start:start + 4])
    assert torch.equal(fix_length(x, 13), torch.cat([x, torch.zeros(1, 3)], 1))
    assert torch.equal(fix_length(x, 13, pad="start"), torch.cat([torch.zeros(1, 3), x], 1))
    assert torch.equal(fix_length(x, 13, pad="both"), torch.cat([torch.zeros(1, 1), x, torch.zeros(1, 2)], 1))
    assert fix_length(x, 10) is x
    with pytest.raises(ParameterError, match="crop"):
        fix_length(x, 4, crop="middle")
    with pytest.raises(ParameterError, match="length"):
        fix_length(x, 0)


def test_load_applies_length_and_normalisation(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(path, _tone(200, 16000, 0.25, channels=2) * 0.1, 16000, subtype="FLOAT")
    waveform, _ = load_audio(path, channels=1, length=8000, normalize=True)
    assert waveform.shape == (1, 8000)
    assert waveform.abs().max().item() == pytest.approx(0.999, rel=1e-5)
    assert torch.all(waveform[:, 4000:] == 0)  # padded at the end


def test_peak_normalize_shares_gain_and_keeps_silence():
    x = torch.tensor([[0.1, -0.2], [0.05, 0.0]])
    y = peak_normalize(x, peak=1.0)
    assert torch.allclose(y, x * 5.0)  # one gain for both channels, set by the loudest sample
    silence = torch.zeros(1, 5)
    assert torch.equal(peak_normalize(silence), silence)


def test_missing_file_is_named(tmp_path):
    path = tmp_path / "nope.wav"
    with pytest.raises(AudioFileError, match="nope.wav: no such file"):
        load_audio(path)


def test_non_audio_is_named(tmp_path):
    path = tmp_path / "text.wav"
    path.write_bytes(b"this is not a wave file at all" * 10)
    with pytest.raises(AudioFileError) as info:
        read_audio(path)
    assert info.value.path == str(path)
    assert "unreadable or not audio" in str(info.value)


def test_empty_file_is_named(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros((0, 1), dtype=np.float32), 16000)
    with pytest.raises(AudioFileError, match=r"empty.wav: empty"):
        load_audio(path)
    zero_bytes = tmp_path / "zero.flac"
    zero_bytes.write_bytes(b"")
    with pytest.raises(AudioFileError, match="zero.flac"):
        load_audio(zero_bytes)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_audio_is_named(tmp_path, bad):
    data = np.zeros((100, 1), dtype=np.float32)
    data[10] = bad
    path = tmp_path / "bad.wav"
    sf.write(path, data, 16000, subtype="FLOAT")
    with pytest.raises(AudioFileError, match=r"bad.wav: non-finite audio: 1 NaN/Inf sample"):
        load_audio(path)


def test_too_short_is_named(tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, np.zeros((160, 1), dtype=np.float32), 16000)
    with pytest.raises(AudioFileError, match=r"short.wav: too short: 0.010 s"):
        load_audio(path, min_duration=0.05)


def test_read_from_file_object_uses_given_name(tmp_path):
    path = tmp_path / "x.flac"
    sf.write(path, _tone(300, 8000, 0.1), 8000)
    with open(path, "rb") as f:
        waveform, rate = load_audio(f, name="archive.zip:x.flac")
    assert rate == 8000 and waveform.shape == (1, 800)
    with pytest.raises(AudioFileError, match=r"archive.zip:broken"):
        import io
        read_audio(io.BytesIO(b"garbage"), name="archive.zip:broken")


def test_save_is_atomic_and_keeps_existing_file_on_error(tmp_path):
    path = tmp_path / "out" / "a.wav"
    save_audio(path, torch.full((1, 100), 0.5), 16000)
    before = path.read_bytes()
    with pytest.raises(ParameterError, match="NaN or Inf"):
        save_audio(path, torch.full((1, 100), float("nan")), 16000)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == ["a.wav"]  # no temporary file left behind
    with pytest.raises(ParameterError, match="extension"):
        save_audio(tmp_path / "a.mp4", torch.zeros(1, 10), 16000)


def test_saved_files_get_the_permissions_of_new_files(tmp_path):
    old = os.umask(0o022)
    try:
        path = save_audio(tmp_path / "shared.wav", torch.zeros(1, 10), 16000)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644  # 0666 less the umask, readable by others


def test_save_clips_and_round_trips(tmp_path):
    path = save_audio(tmp_path / "c.wav", torch.tensor([[2.0, -2.0, 0.25]]), 8000, subtype="FLOAT")
    waveform, _ = read_audio(path)
    assert torch.allclose(waveform, torch.tensor([[1.0, -1.0, 0.25]]))


def test_list_audio_files_skips_hidden_and_other_files(tmp_path):
    (tmp_path / "a" / ".hidden").mkdir(parents=True)
    for name in ["a/x.WAV", "a/y.flac", "a/.hidden/z.wav", "a/readme.txt", "b.ogg"]:
        (tmp_path / name).write_bytes(b"")
    found = [p.relative_to(tmp_path).as_posix() for p in list_audio_files(tmp_path)]
    assert found == ["a/x.WAV", "a/y.flac", "b.ogg"]
    with pytest.raises(ParameterError, match="does not exist"):
        list_audio_files(tmp_path / "missing")


@pytest.mark.parametrize("orig, new", [(44100, 16000), (16000, 44100), (22050, 16000)])
def test_any_ratio_resampler_is_torchaudios_filter(orig, new):
    x = torch.randn(2, orig // 2, generator=torch.Generator().manual_seed(0))
    expected = AF.resample(x, orig, new)
    got = _resample_any_ratio(x, orig, new, chunk=1000)  # several chunks
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=2e-4, rtol=0)


def test_rates_without_a_common_divisor_resample_in_small_memory():
    # 44,101 and 16,000 share no factor: torchaudio's kernels would be 16,000 x 44,101 taps (GBs)
    t = torch.arange(44101) / 44101
    y = resample(torch.sin(2 * torch.pi * 1000 * t)[None], orig_sample_rate=44101, sample_rate=16000)
    assert y.shape == (1, 16000)
    expected = torch.sin(2 * torch.pi * 1000 * torch.arange(16000) / 16000)
    torch.testing.assert_close(y[0, 200:-200], expected[200:-200], atol=1e-3, rtol=0)


def test_truncated_wav_is_reported(tmp_path):
    path = tmp_path / "t.wav"
    sf.write(path, _tone(440, 16000, 0.5), 16000, subtype="PCM_16")
    whole = path.read_bytes()
    path.write_bytes(whole[:len(whole) // 2])
    with pytest.raises(AudioFileError,
                       match=r"truncated: the header promises 16000 bytes of samples, the file holds 7978"):
        read_audio(path)
    with pytest.raises(AudioFileError, match="truncated"):
        read_audio(io.BytesIO(whole[:len(whole) // 2]), name="member.wav")
    assert read_audio(io.BytesIO(whole))[0].shape == (1, 8000)  # a complete file passes


class _InterruptedRead(io.BytesIO):
    """A file whose first read is where Ctrl-C lands."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.interrupted = False

    def readinto(self, buffer):  # how soundfile's callback reads
        if not self.interrupted:
            self.interrupted = True
            signal.raise_signal(signal.SIGINT)
        return super().readinto(buffer)


def test_ctrl_c_during_a_read_interrupts_instead_of_failing_the_file(tmp_path):
    # soundfile reads file objects through callbacks, in which cffi would swallow the KeyboardInterrupt
    # and libsndfile would report the good file as "unimplemented format" (a build once went on and
    # recorded it as unreadable); the interrupt must come out of the read as an interrupt
    sf.write(tmp_path / "a.wav", _tone(440, 16000, 0.1), 16000, subtype="PCM_16")
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            read_audio(_InterruptedRead((tmp_path / "a.wav").read_bytes()), name="a.wav")
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back
        assert read_audio(io.BytesIO((tmp_path / "a.wav").read_bytes()))[0].shape == (1, 1600)
    finally:
        signal.signal(signal.SIGINT, previous)


def test_entries_named_like_audio_that_are_not_files_are_reported(tmp_path):
    sf.write(tmp_path / "ok.wav", _tone(440, 16000, 0.1), 16000)
    (tmp_path / "folder.wav").mkdir()
    sf.write(tmp_path / "folder.wav" / "inside.wav", _tone(440, 16000, 0.1), 16000)
    (tmp_path / "dangling.wav").symlink_to(tmp_path / "gone.wav")
    (tmp_path / "loop.wav").symlink_to(tmp_path / "loop.wav")
    os.mkfifo(tmp_path / "pipe.wav")
    (tmp_path / "cycle").symlink_to(tmp_path)  # a folder link back up must not make the scan endless
    files, rejected = scan_audio_files(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in files] == ["folder.wav/inside.wav", "ok.wav"]
    reasons = {p.name: r for p, r in rejected}
    assert reasons == {"dangling.wav": f"dangling symbolic link (to {tmp_path / 'gone.wav'})",
                       "folder.wav": "a folder, not an audio file", "loop.wav": "symbolic link loop",
                       "pipe.wav": "not a regular file (a pipe, socket or device)"}
    assert file_problem(tmp_path / "ok.wav") is None and file_problem(tmp_path / "nothing.wav") == "no such file"
    with pytest.raises(AudioFileError, match="pipe.wav: not a regular file"):
        read_audio(tmp_path / "pipe.wav")  # refused before anything could block on the pipe
