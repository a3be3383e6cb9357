from __future__ import annotations

import csv
import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from audiofeat.cache import build_cache, describe_cache, merge_caches, open_cache, parse_shard
from audiofeat.cli import main
from audiofeat.config import load_config
from audiofeat.datasets.manifest import write_manifest
from audiofeat.datasets.synthetic import OneShotsConfig, write_oneshots
from audiofeat.exceptions import ParameterError, WriteError
from audiofeat.features import AudioSettings, FeatureConfig, MdctSettings, MelSettings, StftSettings

SUBCLASSES = ("drums/kick", "drums/snare", "bass/sub", "fx/zap")
CONFIG = FeatureConfig(features=("mdct", "threshold"),
                       audio=AudioSettings(sample_rate=16000, length=2048, min_duration=0.01),
                       mdct=MdctSettings(n_bins=64))


@pytest.fixture
def dataset(tmp_path) -> Path:
    root = tmp_path / "data"
    write_oneshots(root, OneShotsConfig(per_subclass=3, duration=0.2, subclasses=SUBCLASSES))
    return root


def _features_by_source(path: Path, feature: str = "mdct") -> dict[str, np.ndarray]:
    cache = open_cache(path, [feature])
    return {meta["source"]: x.numpy() for x, _, meta in (cache[i] for i in range(len(cache)))}


class Interrupt(Exception):
    pass


def test_build_read_and_describe(dataset, tmp_path):
    out = tmp_path / "c.h5"
    report = build_cache(dataset, out, CONFIG)
    assert report.status == "built" and report.examples == 12 and report.sources == 12 and report.skipped == []
    cache = open_cache(out)
    assert len(cache) == 12
    assert cache.features == ("mdct", "threshold") and cache.shape == (2, 64, 33)
    x, c, meta = cache[5]
    assert x.shape == (2, 64, 33) and x.dtype == torch.float32
    assert cache.vocabulary.subclasses == tuple(sorted(SUBCLASSES))
    assert c.shape == (cache.vocabulary.c_dim,) and c.sum() == 2
    assert cache.vocabulary.decode(meta["subclass_index"]) == meta["label"]
    assert meta["source"].startswith(meta["label"] + "/")
    # the stored features are those of the file
    from audiofeat.features import FeatureExtractor

    expected, _ = FeatureExtractor(CONFIG)(dataset / meta["source"])
    np.testing.assert_array_equal(x[:1].numpy(), expected["mdct"][0])
    with h5py.File(out, "r") as f:
        assert json.loads(f.attrs["config"])["mdct"]["n_bins"] == 64
        assert f.attrs["schema_version"] == 1 and len(f.attrs["config_hash"]) == 40
        assert f["features/mdct"].chunks == (1, 1, 64, 33)
        names = [n.decode() for n in f["sources/name"][()]]
        hashes = [h.decode() for h in f["sources/sha256"][()]]
        assert hashes[0] == hashlib.sha256((dataset / names[0]).read_bytes()).hexdigest()
        mean = f["stats/mdct/mean"][()]
        assert mean.shape == (1, 64)
        all_mdct = f["features/mdct"][()]
        np.testing.assert_allclose(mean, all_mdct.mean(axis=(0, 3)), atol=1e-7)
        np.testing.assert_allclose(f["stats/mdct/std"][()], all_mdct.std(axis=(0, 3)), rtol=1e-4, atol=1e-9)
    stats = cache.stats("threshold")
    assert set(stats) == {"mean", "std", "min", "max"} and stats["min"].min() > 0
    text = describe_cache(out)
    assert "12 examples from 12 source files" in text and "drums/kick" in text and "0 input(s) skipped" in text


def test_bad_files_are_skipped_with_reasons(dataset, tmp_path):
    bad = dataset / "drums" / "kick"
    (bad / "corrupt.wav").write_bytes(b"RIFF\x00\x00garbage" * 20)
    (bad / "empty.wav").write_bytes(b"")
    (bad / "notes.flac").write_text("not audio at all")
    nan = np.zeros(800, dtype=np.float32)
    nan[3] = np.nan
    sf.write(bad / "nan.wav", nan, 16000, subtype="FLOAT")
    sf.write(bad / "short.wav", np.zeros(16, dtype=np.float32), 16000)
    (dataset / "top-level.wav").write_bytes(b"")
    report = build_cache(dataset, tmp_path / "c.h5", CONFIG)
    reasons = dict(report.skipped)
    assert report.examples == 12
    assert "unreadable" in reasons["drums/kick/corrupt.wav"]
    assert "unreadable" in reasons["drums/kick/empty.wav"] or "empty" in reasons["drums/kick/empty.wav"]
    assert "unreadable" in reasons["drums/kick/notes.flac"]
    assert "non-finite" in reasons["drums/kick/nan.wav"]
    assert "too short" in reasons["drums/kick/short.wav"]
    assert "no label" in reasons["top-level.wav"]
    with h5py.File(tmp_path / "c.h5", "r") as f:
        stored = dict(zip([n.decode() for n in f["skipped/name"][()]], [r.decode() for r in f["skipped/reason"][()]]))
    assert stored == reasons


def test_any_failure_on_one_file_skips_it_and_the_build_goes_on(dataset, tmp_path, monkeypatch):
    kick = dataset / "drums" / "kick"
    (kick / "folder.wav").mkdir()
    (kick / "dangling.wav").symlink_to(kick / "gone.wav")
    (kick / "loop.wav").symlink_to(kick / "loop.wav")
    sf.write(kick / "truncated.wav", np.zeros(800, dtype=np.float32), 16000, subtype="PCM_16")
    whole = (kick / "truncated.wav").read_bytes()
    (kick / "truncated.wav").write_bytes(whole[:-100])
    victims = sorted(p.name for p in (dataset / "bass" / "sub").iterdir())[:2]
    from audiofeat.features import FeatureExtractor

    call, read_bytes = FeatureExtractor.__call__, Path.read_bytes

    def failing_call(self, source, name=None):  # an unexpected error inside the feature code
        if name.endswith(victims[0]):
            raise IndexError("index 7 is out of bounds")
        return call(self, source, name=name)

    def unreadable(self):
        if self.name == victims[1]:
            raise PermissionError(13, "Permission denied")
        return read_bytes(self)

    monkeypatch.setattr(FeatureExtractor, "__call__", failing_call)
    monkeypatch.setattr(Path, "read_bytes", unreadable)
    report = build_cache(dataset, tmp_path / "c.h5", CONFIG)
    reasons = dict(report.skipped)
    assert report.examples == 10
    assert reasons[f"bass/sub/{victims[0]}"] == "failed: IndexError: index 7 is out of bounds"
    assert reasons[f"bass/sub/{victims[1]}"] == "cannot be read (Permission denied)"
    assert reasons["drums/kick/folder.wav"] == "a folder, not an audio file"
    assert reasons["drums/kick/dangling.wav"].startswith("dangling symbolic link")
    assert reasons["drums/kick/loop.wav"] == "symbolic link loop"
    assert reasons["drums/kick/truncated.wav"].startswith("truncated: the header promises 1600 bytes")


def test_rerun_is_a_noop_and_config_changes_are_refused(dataset, tmp_path):
    out = tmp_path / "c.h5"
    build_cache(dataset, out, CONFIG)
    mtime = out.stat().st_mtime_ns
    again = build_cache(dataset, out, CONFIG)
    assert again.status == "up to date" and again.examples == 12 and out.stat().st_mtime_ns == mtime
    other = FeatureConfig(features=("mdct",), audio=CONFIG.audio, mdct=CONFIG.mdct)
    with pytest.raises(ParameterError, match="another config.*--overwrite"):
        build_cache(dataset, out, other)
    assert out.stat().st_mtime_ns == mtime  # untouched
    (dataset / "drums" / "kick" / "kick_0000.wav").unlink()
    with pytest.raises(ParameterError, match="other input files"):
        build_cache(dataset, out, CONFIG)
    report = build_cache(dataset, out, other, overwrite=True)
    assert report.examples == 11 and open_cache(out).features == ("mdct",)


def test_failed_overwrite_keeps_the_old_cache(dataset, tmp_path):
    out = tmp_path / "c.h5"
    build_cache(dataset, out, CONFIG)
    before = out.read_bytes()
    too_long = FeatureConfig(features=("mdct",), audio=AudioSettings(mode="windows", length=10**6))
    with pytest.raises(ParameterError, match="every input was skipped"):
        build_cache(dataset, out, too_long, overwrite=True)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("c.h5")) == ["c.h5", "c.h5.parts"]


def _interrupt_after_five_files(dataset: Path, out: Path) -> None:
    def stop_after_five(task, done, total):
        if done == 5:
            raise Interrupt

    with pytest.raises(Interrupt):
        build_cache(dataset, out, CONFIG, progress=stop_after_five)


def test_interrupted_build_resumes_without_recomputing(dataset, tmp_path):
    out = tmp_path / "c.h5"
    _interrupt_after_five_files(dataset, out)
    assert not out.exists() and len(list((tmp_path / "c.h5.parts").glob("*.npz"))) == 5
    with pytest.raises(ParameterError, match="interrupted build.*--resume"):
        build_cache(dataset, out, CONFIG)
    report = build_cache(dataset, out, CONFIG, resume=True)
    assert report.computed == 7 and report.examples == 12
    assert not (tmp_path / "c.h5.parts").exists()
    clean = tmp_path / "clean.h5"
    build_cache(dataset, clean, CONFIG)
    resumed, reference = _features_by_source(out), _features_by_source(clean)
    assert resumed.keys() == reference.keys()
    for name in reference:
        np.testing.assert_array_equal(resumed[name], reference[name])


def _rewrite_keeping_size_and_time(path: Path, waveform: np.ndarray) -> None:
    """New content of the same length, with the old modification time: invisible to size and mtime."""
    stat = path.stat()
    sf.write(path, waveform, 16000, subtype=sf.info(path).subtype)
    assert path.stat().st_size == stat.st_size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_verify_finds_content_changes_that_size_and_time_miss(dataset, tmp_path):
    out = tmp_path / "c.h5"
    build_cache(dataset, out, CONFIG)
    victim = sorted((dataset / "drums" / "snare").iterdir())[0]
    name = victim.relative_to(dataset).as_posix()
    before = _features_by_source(out)[name]
    waveform, _ = sf.read(victim, dtype="float32")
    _rewrite_keeping_size_and_time(victim, 0.5 * waveform[::-1].copy())
    assert build_cache(dataset, out, CONFIG).status == "up to date"  # the cheap check cannot see it
    with pytest.raises(ParameterError, match=f"1 input file\\(s\\) changed content .*{name}"):
        build_cache(dataset, out, CONFIG, verify=True)
    assert build_cache(dataset, out, CONFIG, verify=True, overwrite=True).computed == 12
    assert not np.array_equal(_features_by_source(out)[name], before)
    assert build_cache(dataset, out, CONFIG, verify=True).status == "up to date"


def test_verified_resume_recomputes_parts_whose_file_changed(dataset, tmp_path):
    out = tmp_path / "c.h5"
    _interrupt_after_five_files(dataset, out)
    first = sorted(p.relative_to(dataset) for p in dataset.rglob("*.wav"))[0]  # part 0 exists
    waveform, _ = sf.read(dataset / first, dtype="float32")
    _rewrite_keeping_size_and_time(dataset / first, 0.5 * waveform[::-1].copy())
    report = build_cache(dataset, out, CONFIG, resume=True, verify=True)
    assert report.computed == 8  # the 7 missing parts and the stale one
    clean = tmp_path / "clean.h5"
    build_cache(dataset, clean, CONFIG)
    np.testing.assert_array_equal(_features_by_source(out)[first.as_posix()],
                                  _features_by_source(clean)[first.as_posix()])


def test_resume_with_another_config_is_refused(dataset, tmp_path):
    out = tmp_path / "c.h5"

    def stop(task, done, total):
        if done == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        build_cache(dataset, out, CONFIG, progress=stop)
    other = FeatureConfig(features=("mdct",), audio=CONFIG.audio, mdct=CONFIG.mdct)
    with pytest.raises(ParameterError, match="interrupted build.*another config"):
        build_cache(dataset, out, other, resume=True)
    assert build_cache(dataset, out, other, overwrite=True).computed == 12


def _run_cli(*args: str) -> subprocess.Popen:
    # A shell that starts this suite in the background (`nohup make test &`) ignores SIGINT, and
    # children inherit that; the CLI must see Ctrl-C as a user would, so the default is restored.
    return subprocess.Popen([sys.executable, "-m", "audiofeat.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _run_cli_limited(max_file_bytes: int, *args: str) -> subprocess.CompletedProcess:
    """The CLI with a file size limit, which fails writes as a full disk does (with EFBIG, not ENOSPC)."""
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    return subprocess.run([sys.executable, "-m", "audiofeat.cli", *args], capture_output=True, text=True,
                          preexec_fn=limit, timeout=300)


@pytest.mark.parametrize("limit, where", [(3_000_000, "c.h5.tmp"), (20_000, "c.h5.parts/0000000.npz")])
def test_a_full_disk_is_a_clear_error_and_loses_nothing(dataset, tmp_path, limit, where):
    out = tmp_path / "c.h5"
    config = tmp_path / "f.toml"
    config.write_text('features = ["mdct"]\n[audio]\nlength = 2048\nmin_duration = 0.01\n[mdct]\nn_bins = 64\n')
    build_cache(dataset, out, config_from_file(config))
    before = _features_by_source(out)
    bigger = tmp_path / "big.toml"  # 12 examples of 64 x 2048 floats: 6 MB, over the limit
    bigger.write_text('features = ["mdct"]\n[audio]\nlength = 131072\nmin_duration = 0.01\n[mdct]\nn_bins = 64\n')
    failed = _run_cli_limited(limit, "extract", str(dataset), str(out), "--config", str(bigger), "--overwrite")
    assert failed.returncode == 2, failed.stderr  # an error, not a crash (HDF5 segfaults on a failed write)
    assert f"cannot write {tmp_path / where}: File too large" in failed.stderr
    after = _features_by_source(out)  # the cache that was there is untouched
    assert after.keys() == before.keys() and all(np.array_equal(after[k], before[k]) for k in before)
    assert not (tmp_path / "c.h5.tmp").exists() and not list(tmp_path.glob("c.h5.parts/*.partial"))
    parts = sorted(p.name for p in (tmp_path / "c.h5.parts").glob("*.npz"))
    resumed = _run_cli("extract", str(dataset), str(out), "--config", str(bigger), "--resume", "--overwrite")
    stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    assert f"12 examples from 12 files ({12 - len(parts)} computed now)" in stdout
    assert open_cache(out).shape == (1, 64, 2049)


def test_an_output_that_cannot_be_created_is_a_clear_error(dataset, tmp_path):
    (tmp_path / "file").write_text("a file where a folder should be")
    with pytest.raises(WriteError, match=r"cannot write .*file/c\.h5: .*file: File exists"):
        build_cache(dataset, tmp_path / "file" / "c.h5", CONFIG)
    with pytest.raises(WriteError, match=r"cannot write .*file/m\.h5: .*file: File exists"):
        merge_caches(tmp_path / "file" / "m.h5", [tmp_path / "s.h5"])


def _wait_for_parts(parts: Path, count: int, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(list(parts.glob("*.npz"))) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "extraction did not start in time"
        time.sleep(0.02)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_extraction_leaves_no_corrupt_output_and_resumes(tmp_path, sig):
    root = tmp_path / "data"
    # enough files that the signal, sent once 5 parts exist, lands mid-way even on a loaded machine.
    # An extraction that "finished before the signal" was once a lost interrupt: a Ctrl-C landing in
    # soundfile's read callback was swallowed (test_io's test_ctrl_c_during_a_read_...)
    write_oneshots(root, OneShotsConfig(per_subclass=120, duration=0.2, subclasses=SUBCLASSES))
    total = 120 * len(SUBCLASSES)
    config = tmp_path / "f.toml"
    config.write_text('features = ["mdct", "threshold"]\n[audio]\nlength = 2048\n[mdct]\nn_bins = 64\n')
    out = tmp_path / "c.h5"
    process = _run_cli("extract", str(root), str(out), "--config", str(config))
    _wait_for_parts(tmp_path / "c.h5.parts", 5, process)
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode != 0, f"the extraction finished before the signal arrived: {stdout}"
    if sig == signal.SIGINT:
        assert process.returncode == 130 and "--resume" in stderr
    assert not out.exists()
    assert not list(tmp_path.glob("c.h5.tmp*"))
    parts = sorted((tmp_path / "c.h5.parts").glob("*.npz"))
    for part in parts:  # every finished part is complete (a half-written one would be *.partial)
        with np.load(part) as data:
            assert "record" in data and data["feature_mdct"].shape == (1, 1, 64, 33)
    done = len(parts)
    assert 5 <= done < total
    resumed = _run_cli("extract", str(root), str(out), "--config", str(config), "--resume")
    stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr
    assert f"{total} examples from {total} files ({total - done} computed now)" in stdout
    cache = open_cache(out)
    assert len(cache) == total and len(set(cache.source_names)) == total
    reference = FeatureConfig(features=("mdct", "threshold"), audio=AudioSettings(length=2048),
                              mdct=MdctSettings(n_bins=64))
    from audiofeat.features import FeatureExtractor

    x, _, meta = cache[123]
    expected, _ = FeatureExtractor(reference)(root / meta["source"])
    # another process may use another FFT thread split: equal to float32 rounding
    np.testing.assert_allclose(x.numpy(), np.concatenate([expected["mdct"][0], expected["threshold"][0]]),
                               rtol=1e-4, atol=1e-7)


def _children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_killing_a_parallel_build_ends_its_workers(tmp_path):
    root = tmp_path / "data"
    write_oneshots(root, OneShotsConfig(per_subclass=120, duration=0.2, subclasses=SUBCLASSES))
    config = tmp_path / "f.toml"
    config.write_text('features = ["mdct"]\n[audio]\nlength = 2048\n[mdct]\nn_bins = 64\n')
    process = _run_cli("extract", str(root), str(tmp_path / "c.h5"), "--config", str(config), "--workers", "2")
    _wait_for_parts(tmp_path / "c.h5.parts", 5, process)
    workers = [pid for pid in _children(process.pid) if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
    assert len(workers) == 2
    process.kill()
    process.communicate(timeout=60)
    deadline = time.monotonic() + 30
    try:
        while any(_alive(pid) for pid in workers):
            assert time.monotonic() < deadline, "the workers outlived their killed build"
            time.sleep(0.1)
    finally:
        for pid in filter(_alive, workers):  # a failed check must not leave them running either
            os.kill(pid, signal.SIGKILL)


def test_a_second_build_of_one_output_is_refused_and_harms_nothing(dataset, tmp_path):
    from audiofeat._files import exclusive_lock

    out = tmp_path / "c.h5"
    (tmp_path / "c.h5.parts").mkdir()
    (tmp_path / "c.h5.parts" / "0000000.npz").write_bytes(b"the other build's part")
    with exclusive_lock(tmp_path / "c.h5.lock", "building"):  # as if another build were running
        with pytest.raises(ParameterError, match=rf"another process \(PID {os.getpid()}\) is building .*c\.h5"):
            build_cache(dataset, out, CONFIG, overwrite=True)
        with pytest.raises(ParameterError, match="another process"):
            merge_caches(out, [tmp_path / "s0.h5"])
        assert (tmp_path / "c.h5.parts" / "0000000.npz").read_bytes() == b"the other build's part"
    assert not (tmp_path / "c.h5.lock").exists()
    assert build_cache(dataset, out, CONFIG, overwrite=True).examples == 12
    assert not (tmp_path / "c.h5.lock").exists()


def test_two_simultaneous_builds_leave_one_complete_cache(dataset, tmp_path):
    config = tmp_path / "f.toml"
    config.write_text('features = ["mdct"]\n[audio]\nlength = 2048\nmin_duration = 0.01\n[mdct]\nn_bins = 64\n')
    args = ("extract", str(dataset), str(tmp_path / "c.h5"), "--config", str(config))
    runs = [_run_cli(*args), _run_cli(*args, "--overwrite")]
    results = [(p.wait(timeout=120), p.communicate()) for p in runs]
    for code, (_stdout, stderr) in results:  # each either built, found it built, or was refused
        assert code == 0 or "another process" in stderr, stderr
    assert any(code == 0 for code, _ in results)
    assert len(open_cache(tmp_path / "c.h5")) == 12


def test_shards_merge_into_virtual_dataset(dataset, tmp_path):
    shards = [tmp_path / f"s{i}.h5" for i in range(3)]
    for i, path in enumerate(shards):
        build_cache(dataset, path, CONFIG, shard=(i, 3))
    with pytest.raises(ParameterError, match="cover"):
        merge_caches(tmp_path / "bad.h5", shards[:2])
    merged = merge_caches(tmp_path / "all.h5", list(reversed(shards)))
    with h5py.File(merged, "r") as f:
        assert f["features/mdct"].is_virtual
        assert f.attrs["n_examples"] == 12
    full = tmp_path / "full.h5"
    build_cache(dataset, full, CONFIG)
    a, b = _features_by_source(merged, "threshold"), _features_by_source(full, "threshold")
    assert a.keys() == b.keys()
    for name in b:
        np.testing.assert_array_equal(a[name], b[name])
    for key in ("mean", "std", "min", "max"):
        np.testing.assert_allclose(open_cache(merged).stats("mdct")[key], open_cache(full).stats("mdct")[key],
                                   rtol=1e-9, atol=1e-12)
    cache = open_cache(merged)
    labels = {cache[i][2]["source"]: cache[i][2]["label"] for i in range(len(cache))}
    assert all(name.startswith(label) for name, label in labels.items())
    with pytest.raises(ParameterError, match="exists"):
        merge_caches(merged, shards)


def test_four_shards_extracted_by_parallel_processes_merge_into_the_single_process_cache(dataset, tmp_path):
    """The recipe of docs/distributed.md: `audiofeat extract --shard i/4` in four processes at once,
    then `audiofeat merge`."""
    config = tmp_path / "features.toml"
    config.write_text('features = ["mdct", "threshold"]\n[audio]\nsample_rate = 16000\nlength = 2048\n'
                      'min_duration = 0.01\n[mdct]\nn_bins = 64\n')
    cli = [sys.executable, "-c", "from audiofeat.cli import main; main()"]
    shards = [tmp_path / f"part-{i}.h5" for i in range(4)]
    workers = [subprocess.Popen([*cli, "extract", str(dataset), str(path), "--config", str(config),
                                 "--shard", f"{i}/4"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
               for i, path in enumerate(shards)]
    for worker in workers:
        output, _ = worker.communicate(timeout=300)
        assert worker.returncode == 0, output.decode()
    subprocess.run([*cli, "merge", str(tmp_path / "all.h5"), *map(str, shards)], check=True, capture_output=True)
    single = build_cache(dataset, tmp_path / "single.h5", CONFIG).output
    for feature in ("mdct", "threshold"):
        merged, whole = _features_by_source(tmp_path / "all.h5", feature), _features_by_source(single, feature)
        assert merged.keys() == whole.keys() and len(whole) == 12
        for name in whole:
            np.testing.assert_array_equal(merged[name], whole[name])  # bit for bit
        for key in ("mean", "std", "min", "max"):
            np.testing.assert_allclose(open_cache(tmp_path / "all.h5").stats(feature)[key],
                                       open_cache(single).stats(feature)[key], rtol=1e-9, atol=1e-12)


def test_merged_cache_refuses_a_missing_or_changed_shard(dataset, tmp_path):
    shards = [tmp_path / f"s{i}.h5" for i in range(2)]
    for i, path in enumerate(shards):
        build_cache(dataset, path, CONFIG, shard=(i, 2))
    merged = merge_caches(tmp_path / "all.h5", shards)
    assert len(open_cache(merged)) == 12
    shards[1].rename(tmp_path / "moved.h5")
    # without the check, the virtual dataset reads the moved shard's six examples as zeros
    with pytest.raises(ParameterError, match=r"merged from .*s1\.h5, which is missing"):
        open_cache(merged)
    result = CliRunner().invoke(main, ["info", str(merged)])
    assert result.exit_code != 0 and "s1.h5, which is missing" in result.output
    (tmp_path / "moved.h5").rename(shards[1])
    with h5py.File(shards[1], "r+") as f:  # as if the shard had been built again
        f.attrs["created"] = "2026-01-01T00:00:00+00:00"
    with pytest.raises(ParameterError, match=r"s1\.h5, which changed since the merge \(.*created .* -> 2026-01-01"):
        open_cache(merged)


def test_damage_on_disk_is_a_read_error_not_wrong_numbers(dataset, tmp_path):
    out = tmp_path / "c.h5"
    build_cache(dataset, out, CONFIG)
    with h5py.File(out, "r") as f:
        chunk = f["features/mdct"].id.get_chunk_info(3)
    with open(out, "r+b") as f:  # flip bytes inside example 3's chunk
        f.seek(chunk.byte_offset + chunk.size // 2)
        f.write(b"\xff" * 16)
    cache = open_cache(out)
    cache[2]  # the other examples still read
    with pytest.raises(ParameterError, match=r"c\.h5: example 3 cannot be read .*damaged"):
        cache[3]


def test_parse_shard():
    assert parse_shard("1/4") == (1, 4)
    for bad in ("4/4", "x", "1-4", "-1/2"):
        with pytest.raises(ParameterError, match="shard"):
            parse_shard(bad)


def test_dataloader_with_workers_reads_every_example_once(dataset, tmp_path):
    out = tmp_path / "c.h5"
    build_cache(dataset, out, CONFIG)
    cache = open_cache(out, ["threshold"])
    loader = torch.utils.data.DataLoader(cache, batch_size=4, num_workers=2, shuffle=True,
                                         generator=torch.Generator().manual_seed(0))
    seen = {}
    for x, c, meta in loader:
        assert x.shape == (4, 1, 64, 33) and c.shape == (4, cache.vocabulary.c_dim)
        for i, index in enumerate(meta["index"].tolist()):
            seen[index] = x[i]
    assert sorted(seen) == list(range(12))
    for index, x in seen.items():
        assert torch.equal(x, cache[index][0])


def test_manifest_input_keeps_metadata(tmp_path, dataset):
    manifest = tmp_path / "manifest.csv"
    files = sorted(dataset.rglob("*.wav"))[:4]
    with open(manifest, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "label", "licence"])
        for i, path in enumerate(files):
            writer.writerow([os.path.relpath(path, tmp_path), f"perc/type{i % 2}/deep", "CC0"])
    report = build_cache(manifest, tmp_path / "m.h5", CONFIG)
    assert report.examples == 4
    cache = open_cache(tmp_path / "m.h5")
    assert cache.vocabulary.classes == ("perc",) and cache.vocabulary.subclasses == ("perc/type0", "perc/type1")
    assert cache[0][2]["label"] == "perc/type0/deep"
    with h5py.File(tmp_path / "m.h5", "r") as f:
        assert json.loads(f["sources/meta"][0]) == {"licence": "CC0"}
    assert cache.example_meta("licence") == ["CC0"] * 4 and cache.example_meta("kit") is None
    broken = tmp_path / "broken.csv"
    broken.write_text("file,label\na.wav,x/y\n")
    with pytest.raises(ParameterError, match="missing column.*path"):
        build_cache(broken, tmp_path / "b.h5", CONFIG)


def test_a_genre_column_gives_the_vocabulary_genres_and_the_conditioning_a_genre_part(tmp_path, dataset):
    files = sorted(dataset.rglob("*.wav"))[:3]
    rows = [{"path": os.path.relpath(path, tmp_path), "label": "perc/hand", "genre": genre}
            for path, genre in zip(files, ["world", "", "acoustic"])]
    build_cache(write_manifest(tmp_path / "manifest.csv", rows), tmp_path / "g.h5", CONFIG)
    cache = open_cache(tmp_path / "g.h5")
    assert cache.vocabulary.genres == ("acoustic", "world") and cache.vocabulary.c_dim == 4
    by_genre = {cache[i][2]["genre_index"]: cache[i][1].tolist() for i in range(len(cache))}
    assert by_genre == {1: [1, 1, 0, 1], -1: [1, 1, 0, 0], 0: [1, 1, 1, 0]}


def test_features_of_different_shapes_are_described_and_read_one_shape_at_a_time(dataset, tmp_path):
    config = FeatureConfig(features=("log_mag", "mel"), audio=AudioSettings(length=2048, min_duration=0.01),
                           stft=StftSettings(n_fft=256, hop_length=128), mel=MelSettings(n_mels=16))
    build_cache(dataset, tmp_path / "mixed.h5", config)
    cache = open_cache(tmp_path / "mixed.h5")
    assert cache.shape is None and "feature mel: shape (1, 16, 16)" in describe_cache(tmp_path / "mixed.h5")
    with pytest.raises(ParameterError, match="differ in shape; open the cache with features"):
        cache[0]
    assert open_cache(tmp_path / "mixed.h5", ["mel"])[0][0].shape == (1, 16, 16)
    with pytest.raises(ParameterError, match="cannot be stacked"):
        open_cache(tmp_path / "mixed.h5", ["log_mag", "mel"])


def test_windows_mode_cuts_long_files(tmp_path):
    root = tmp_path / "music" / "album"
    root.mkdir(parents=True)
    t = np.arange(16000 * 3) / 16000
    sf.write(root / "song.flac", np.stack([np.sin(2 * np.pi * 220 * t), np.sin(2 * np.pi * 330 * t)], 1) * 0.5, 16000)
    sf.write(root / "tiny.flac", np.zeros((4000, 2)), 16000)
    config = FeatureConfig(features=("mdct",), mdct=MdctSettings(n_bins=128),
                           audio=AudioSettings(channels=2, mode="windows", length=16384, hop=8192))
    report = build_cache(tmp_path / "music", tmp_path / "w.h5", config)
    assert report.examples == 4  # windows at 0, 8192, 16384, 24576 of 48000 samples
    assert "too short" in dict(report.skipped)["album/tiny.flac"]
    cache = open_cache(tmp_path / "w.h5")
    assert [cache[i][2]["offset"] for i in range(4)] == [0, 8192, 16384, 24576]
    assert cache[0][0].shape == (2, 128, 129)


def test_cli_extract_info_merge(dataset, tmp_path):
    config = tmp_path / "f.toml"
    config.write_text('features = ["mdct"]\n[audio]\nlength = 2048\n[mdct]\nn_bins = 64\n')
    runner = CliRunner()
    out = tmp_path / "c.h5"
    result = runner.invoke(main, ["extract", str(dataset), str(out), "--config", str(config), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "12 examples from 12 files" in result.output
    again = runner.invoke(main, ["extract", str(dataset), str(out), "--config", str(config)])
    assert again.exit_code == 0 and "up to date" in again.output
    clash = runner.invoke(main, ["extract", str(dataset), str(out), "--config", str(config), "--set", "mdct.n_bins=32"])
    assert clash.exit_code == 2 and "another config" in clash.output
    typo = runner.invoke(main, ["extract", str(dataset), str(out), "--config", str(config), "--set", "mdct.bins=3"])
    assert typo.exit_code == 2 and "allowed keys: n_bins, norm, window" in typo.output
    info = runner.invoke(main, ["info", str(out)])
    assert info.exit_code == 0 and "feature mdct: shape (1, 64, 33)" in info.output
    for i in range(2):
        shard = runner.invoke(main, ["extract", str(dataset), str(tmp_path / f"s{i}.h5"), "--config", str(config),
                                     "--shard", f"{i}/2"])
        assert shard.exit_code == 0, shard.output
    merged = runner.invoke(main, ["merge", str(tmp_path / "m.h5"), str(tmp_path / "s0.h5"), str(tmp_path / "s1.h5")])
    assert merged.exit_code == 0 and len(open_cache(tmp_path / "m.h5")) == 12


def config_from_file(path: Path) -> FeatureConfig:
    return load_config(path, FeatureConfig)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_read_only_output_folder_is_a_clear_error(dataset, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(WriteError, match=r"cannot write .*ro/c\.h5: .*Permission denied"):
            build_cache(dataset, folder / "c.h5", CONFIG)
    finally:
        folder.chmod(0o755)
