"""Self-describing HDF5 feature caches: build, resume, shard, merge, inspect and read.

Layout of a cache (``schema_version`` 1)::

    /features/<name>          float32 (N, channels, freq, frames), one chunk per example
    /labels/class_index       int64 (N,)   index into vocabulary["classes"]
    /labels/subclass_index    int64 (N,)   index into vocabulary["subclasses"]
    /labels/label             str (N,)     full label path, e.g. "drums/kick/808"
    /examples/source_index    int64 (N,)   row of /sources the example comes from
    /examples/offset          int64 (N,)   first sample of the example in the resampled file
    /sources/{name,label,sha256,meta}      str (S,)  every source file that gave examples (meta: JSON)
    /sources/examples         int64 (S,)
    /skipped/{name,reason}    str (K,)     every input that was skipped, and why
    /stats/<name>/{count,mean,std,min,max}   per-(channel, bin) statistics over all examples and frames
    attributes: schema_version, audiofeat_version, config (JSON), config_hash, inputs_digest,
                shard, vocabulary (JSON), n_examples, created

Build protocol (what makes it safe to kill at any moment):

1. Each source file is processed on its own (in parallel worker processes if asked) and its result
   written to ``OUTPUT.parts/<index>.npz`` under a temporary name, then renamed: a part is either
   complete or absent. Skipped inputs also get a part that records the reason.
2. When every part exists, the cache is assembled into ``OUTPUT.tmp`` and renamed to ``OUTPUT``;
   the parts folder is removed afterwards. An existing ``OUTPUT`` is replaced only by a complete file.
3. ``resume=True`` reuses the parts of an interrupted build (same config and inputs) and computes
   only the missing ones, so nothing is computed twice and no example is duplicated.
4. Building again with the same config and inputs is a no-op; a different config, or changed
   inputs, against an existing cache is an error unless ``overwrite=True``.
"""
from __future__ import annotations

import contextlib
import datetime
import hashlib
import io
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from audiofeat import __version__
from audiofeat._files import LockHeldError, atomic_path, exclusive_lock
from audiofeat.config import config_from_dict, config_hash, config_to_dict
from audiofeat.discovery import Source, discover, inputs_digest
from audiofeat.exceptions import AudioFileError, ParameterError, WriteError
from audiofeat.features import FeatureConfig, FeatureExtractor
from audiofeat.functional.normalization import BinStatistics
from audiofeat.io import file_problem
from audiofeat.labels import LabelVocabulary
from audiofeat.progress import Progress

__all__ = ["SCHEMA_VERSION", "BuildReport", "FeatureCache", "build_cache", "check_shards", "describe_cache",
           "merge_caches", "open_cache", "parse_shard"]

SCHEMA_VERSION = 1
_STR = h5py.string_dtype()


@dataclass
class BuildReport:
    """What :func:`build_cache` did.

    Attributes:
        output: the cache file.
        status: ``"built"`` or ``"up to date"`` (nothing was done).
        examples: examples in the cache.
        sources: source files that gave examples.
        computed: source files processed by this call (the rest came from an interrupted build).
        skipped: ``(name, reason)`` for every input left out.
    """

    output: Path
    status: str
    examples: int = 0
    sources: int = 0
    computed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/8"`` -> ``(2, 8)``: shard 2 of 8 (0-based)."""
    try:
        index, count = (int(x) for x in text.split("/"))
    except ValueError:
        raise ParameterError(f"shard must look like 'i/n' (e.g. 0/4), got {text!r}") from None
    if not 0 <= index < count:
        raise ParameterError(f"shard index must be in [0, {count}), got {text!r}")
    return index, count


# --- building ------------------------------------------------------------------------------------

def build_cache(
    input_path: str | os.PathLike,
    output: str | os.PathLike,
    config: FeatureConfig,
    *,
    workers: int = 0,
    shard: tuple[int, int] = (0, 1),
    resume: bool = False,
    overwrite: bool = False,
    verify: bool = False,
    progress: Progress | None = None,
) -> BuildReport:
    """Extracts the features of every file of a folder tree or CSV manifest into an HDF5 cache.

    Args:
        input_path: folder tree ``class/subclass/*.wav`` or CSV manifest (:mod:`audiofeat.discovery`).
        output: the ``.h5`` file to write.
        config: what to compute.
        workers: worker processes (0 computes in this process).
        shard: ``(i, n)`` processes every n-th source starting at i; merge shards with :func:`merge_caches`.
        resume: finish an interrupted build of the same config and inputs (with ``overwrite`` too, one
            that was replacing a cache of another config).
        overwrite: replace an existing cache or interrupted build made with another config or inputs.
        verify: do not trust file sizes and modification times alone: hash the content of every input
            whose stored result would be reused (an existing cache, or the parts of an interrupted build)
            and treat a file whose hash differs as changed.
        progress: called as ``progress("extract <output name>", done, total)`` after each source file
            (:mod:`audiofeat.progress`).

    Raises:
        ParameterError: bad input, a config or input clash without ``overwrite``, an interrupted
            build without ``resume``/``overwrite``, or another build of ``output`` running.
    """
    output = Path(output)
    with _writing(output), _build_lock(output):
        return _build(input_path, output, config, workers, shard, resume, overwrite, verify, progress)


@contextlib.contextmanager
def _build_lock(output: Path) -> Iterator[None]:
    """One build or merge per output at a time: ``OUTPUT.lock`` holds the builder's PID."""
    try:
        with exclusive_lock(output.with_name(output.name + ".lock"), f"building {output}"):
            yield
    except LockHeldError as error:
        raise ParameterError(error.strerror) from None


def _build(input_path: str | os.PathLike, output: Path, config: FeatureConfig, workers: int, shard: tuple[int, int],
           resume: bool, overwrite: bool, verify: bool, progress: Progress | None) -> BuildReport:
    sources, skipped = discover(input_path)
    vocabulary = LabelVocabulary.from_labels(s.label for s in sources)
    digest = inputs_digest(sources)
    chash = config_hash(config)
    shard_text = f"{shard[0]}/{shard[1]}"
    sources = sources[shard[0]::shard[1]]
    identity = {"config_hash": chash, "inputs_digest": digest, "shard": shard_text, "schema_version": SCHEMA_VERSION}

    if output.exists() and not overwrite:
        existing = _read_identity(output)
        if existing == identity:
            with h5py.File(output, "r") as f:
                stored = dict(zip(_strings(f["sources/name"]), _strings(f["sources/sha256"])))
                report = BuildReport(output, "up to date", int(f.attrs["n_examples"]), len(stored), 0,
                                     list(zip(_strings(f["skipped/name"]), _strings(f["skipped/reason"]))))
            changed = [s.name for s in sources if s.name in stored and _file_sha256(s.path) != stored[s.name]] \
                if verify else []
            if not changed:
                return report
            raise ParameterError(f"{output}: {len(changed)} input file(s) changed content although their sizes and "
                                 f"times did not ({', '.join(changed[:3])}); use overwrite (--overwrite) to rebuild")
        raise ParameterError(f"{output} exists and was built from {_difference(existing, identity)}; "
                             "use overwrite (--overwrite) to replace it")

    parts = output.with_name(output.name + ".parts")
    if parts.exists():
        previous = _read_json(parts / "build.json")
        if previous is None or (overwrite and not (resume and previous == identity)):
            shutil.rmtree(parts)
        elif not resume:
            raise ParameterError(f"an interrupted build exists in {parts}: use resume (--resume) to finish it "
                                 "or overwrite (--overwrite) to start again")
        elif previous != identity:
            raise ParameterError(f"the interrupted build in {parts} was made from {_difference(previous, identity)}; "
                                 "use overwrite (--overwrite) to start again")
    with _writing(parts):
        parts.mkdir(parents=True, exist_ok=True)
        _write_json_atomic(parts / "build.json", identity)

    if verify:
        _drop_stale_parts(parts, sources)
    todo = [(i, s) for i, s in enumerate(sources) if not _part_path(parts, i).exists()]
    done = len(sources) - len(todo)
    task = f"extract {output.name}"
    if progress:
        progress(task, done, len(sources))
    for _ in _run_parts(todo, parts, config, workers):
        done += 1
        if progress:
            progress(task, done, len(sources))

    report = _assemble(output, parts, sources, skipped, vocabulary, config, identity)
    report.computed = len(todo)
    shutil.rmtree(parts)
    return report


def _file_sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def _drop_stale_parts(parts: Path, sources: Sequence[Source]) -> None:
    """Removes the parts of an interrupted build whose source's content no longer has the hash
    recorded in the part, so that they are computed again."""
    for index, source in enumerate(sources):
        part = _part_path(parts, index)
        if part.exists():
            with np.load(part) as data:
                recorded = json.loads(str(data["record"])).get("sha256")
            if recorded is None or recorded != _file_sha256(source.path):
                part.unlink()


def _run_parts(todo: list[tuple[int, Source]], parts: Path, config: FeatureConfig, workers: int):
    """Computes the missing parts, yielding once per finished source."""
    if workers <= 0:
        extractor = FeatureExtractor(config)
        for index, source in todo:
            _compute_part(extractor, index, source, parts)
            yield index
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                             initializer=_init_worker, initargs=(config, os.getpid())) as pool:
        futures = [pool.submit(_worker_part, index, source, str(parts)) for index, source in todo]
        try:
            for future in as_completed(futures):
                yield future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            raise


_WORKER_EXTRACTOR: FeatureExtractor | None = None


def _init_worker(config: FeatureConfig, parent: int) -> None:
    global _WORKER_EXTRACTOR
    torch.set_num_threads(1)
    _WORKER_EXTRACTOR = FeatureExtractor(config)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int, interval: float = 0.5) -> None:
    """Ends a worker whose build process died (``kill -9`` gives the pool no chance to stop its
    workers, which would otherwise wait for work forever, each holding its memory)."""
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(1)


def _worker_part(index: int, source: Source, parts: str) -> int:
    assert _WORKER_EXTRACTOR is not None
    _compute_part(_WORKER_EXTRACTOR, index, source, Path(parts))
    return index


def _part_path(parts: Path, index: int) -> Path:
    return parts / f"{index:07d}.npz"


def _compute_part(extractor: FeatureExtractor, index: int, source: Source, parts: Path) -> None:
    record: dict[str, Any] = {"name": source.name}
    arrays: dict[str, np.ndarray] = {}
    try:
        problem = file_problem(source.path)
        if problem:
            raise AudioFileError(source.name, problem)
        data = source.path.read_bytes()
        record["sha256"] = hashlib.sha256(data).hexdigest()  # a skipped file keeps it too, for --verify
        features, offsets = extractor(io.BytesIO(data), name=source.name)
        arrays = {f"feature_{k}": v for k, v in features.items()}
        arrays["offsets"] = offsets
    except AudioFileError as error:
        record["skipped"] = error.reason
    except OSError as error:
        record["skipped"] = f"cannot be read ({error.strerror or error})"
    except Exception as error:  # noqa: BLE001 - one file's failure, whatever it is, must not stop the build
        record["skipped"] = f"failed: {type(error).__name__}: {error}"
    target = _part_path(parts, index)
    tmp = target.with_suffix(".partial")  # a kill can leave this behind; it is never read
    with _writing(target, remove=tmp):
        with open(tmp, "wb") as f:
            payload: dict[str, Any] = {"record": np.array(json.dumps(record)), **arrays}  # np.savez's **kwds
            np.savez(f, **payload)
        os.replace(tmp, target)


@contextlib.contextmanager
def _writing(path: Path, remove: Path | None = None) -> Iterator[None]:
    """Turns a failed write (disk full, read-only folder, ...) into a :class:`WriteError` naming ``path``,
    after removing the unfinished file ``remove``."""
    try:
        yield
    except WriteError:
        raise
    except OSError as error:
        if remove is not None and remove.exists():
            remove.unlink()
        where = f"{error.filename}: " if error.filename and os.fspath(error.filename) != os.fspath(path) else ""
        raise WriteError(f"cannot write {path}: {where}{error.strerror or error}") from None


class _Moments:
    """Per-(channel, bin) statistics over examples and frames: :class:`BinStatistics` (mean and
    standard deviation by Chan's pairwise update) over the flattened channel x bin axis, plus min and max."""

    def __init__(self, bins: tuple[int, ...]):
        self.bins = tuple(bins)
        self.stats = BinStatistics()
        self.min = np.full(self.bins, np.inf)
        self.max = np.full(self.bins, -np.inf)

    def update(self, x: np.ndarray) -> None:  # x: (examples, channels, freq, frames)
        flat = torch.from_numpy(np.ascontiguousarray(x)).reshape(x.shape[0], -1, x.shape[-1])
        self.stats.update(flat)
        self.min = np.minimum(self.min, x.min(axis=(0, -1)))
        self.max = np.maximum(self.max, x.max(axis=(0, -1)))

    def write(self, group: h5py.Group) -> None:
        data = self.stats.to_dict()
        group.create_dataset("count", data=data["count"])
        for key in ("mean", "std"):
            group.create_dataset(key, data=data[key].reshape(self.bins))
        group.create_dataset("min", data=self.min)
        group.create_dataset("max", data=self.max)

    @classmethod
    def read(cls, group: h5py.Group) -> _Moments:
        moments = cls(group["mean"].shape)
        moments.stats = BinStatistics.from_dict({"count": group["count"][()], "mean": group["mean"][()].ravel(),
                                                 "std": group["std"][()].ravel()})
        moments.min, moments.max = group["min"][()], group["max"][()]
        return moments

    def merge(self, other: _Moments) -> None:
        self.stats.merge(other.stats)
        self.min = np.minimum(self.min, other.min)
        self.max = np.maximum(self.max, other.max)


def _assemble(output: Path, parts: Path, sources: Sequence[Source], skipped: list[tuple[str, str]],
              vocabulary: LabelVocabulary, config: FeatureConfig, identity: dict) -> BuildReport:
    kept: list[tuple[int, dict, int]] = []  # (part index, record, examples)
    skipped = list(skipped)
    shapes: dict[str, tuple[int, ...]] = {}
    for index, source in enumerate(sources):
        with np.load(_part_path(parts, index)) as part:
            record = json.loads(str(part["record"]))
            if "skipped" in record:
                skipped.append((source.name, record["skipped"]))
                continue
            n = int(part["offsets"].shape[0])
            for name in config.features:
                shape = part[f"feature_{name}"].shape[1:]
                if shapes.setdefault(name, shape) != shape:
                    raise ParameterError(f"{source.name}: feature {name} has shape {shape}, others {shapes[name]}")
            kept.append((index, record, n))
    if not kept:
        reasons = "; ".join(f"{n}: {r}" for n, r in skipped[:5])
        raise ParameterError(f"no usable audio: every input was skipped ({reasons})")
    total = sum(n for _, _, n in kept)

    tmp = output.with_name(output.name + ".tmp")
    try:
        _check_space(tmp, _size_bound(total, shapes, kept, sources, skipped))
        with h5py.File(tmp, "w") as f:
            # a Fletcher-32 checksum per chunk turns damage on disk into a read error instead of wrong numbers
            datasets = {name: f.create_dataset(f"features/{name}", shape=(total, *shape), dtype="float32",
                                               chunks=(1, *shape), fletcher32=True) for name, shape in shapes.items()}
            moments = {name: _Moments(shape[:-1]) for name, shape in shapes.items()}
            class_index, subclass_index, labels, source_index, offsets = [], [], [], [], []
            row = 0
            for s_row, (index, _, n) in enumerate(kept):
                source = sources[index]
                with np.load(_part_path(parts, index)) as part:
                    for name in shapes:
                        values = part[f"feature_{name}"]
                        datasets[name][row:row + n] = values
                        moments[name].update(values)
                    offsets.extend(part["offsets"].tolist())
                ci, si = vocabulary.encode(source.label)
                class_index += [ci] * n
                subclass_index += [si] * n
                labels += [source.label] * n
                source_index += [s_row] * n
                row += n
            f.create_dataset("labels/class_index", data=np.array(class_index, dtype=np.int64))
            f.create_dataset("labels/subclass_index", data=np.array(subclass_index, dtype=np.int64))
            f.create_dataset("labels/label", data=labels, dtype=_STR)
            f.create_dataset("examples/source_index", data=np.array(source_index, dtype=np.int64))
            f.create_dataset("examples/offset", data=np.array(offsets, dtype=np.int64))
            _write_sources(f, [(sources[i], r, n) for i, r, n in kept])
            _write_skipped(f, skipped)
            for name, m in moments.items():
                m.write(f.create_group(f"stats/{name}"))
            _write_attrs(f, config, identity, vocabulary, total)
        os.replace(tmp, output)
    finally:
        if tmp.exists():
            tmp.unlink()
    return BuildReport(output, "built", total, len(kept), 0, skipped)


def _size_bound(total: int, shapes: dict[str, tuple[int, ...]], kept: list[tuple[int, dict, int]],
                sources: Sequence[Source], skipped: list[tuple[str, str]]) -> int:
    """An upper bound on the size of an assembled cache: features, a generous 512 bytes of chunk index
    and checksum per example and feature, 64 bytes per label row, every string and 1 MiB of metadata."""
    features = sum(4 * int(np.prod(shape)) + 512 for shape in shapes.values()) * total
    strings = sum(len(sources[i].name) + len(sources[i].label) + len(json.dumps(sources[i].meta)) + 256
                  for i, _, _ in kept)
    strings += sum(len(name) + len(reason) + 64 for name, reason in skipped)
    labels = total * (64 + max((len(sources[i].label) for i, _, _ in kept), default=0))
    return features + strings + labels + (1 << 20)


def _check_space(path: Path, size: int) -> None:
    """Makes sure ``size`` bytes can be written at ``path`` by allocating them (then gives them back).

    HDF5 (1.14, through h5py) crashes the process with a segmentation fault when a write fails for
    want of space while datasets are open. Allocating the whole file first turns a full disk, a quota
    or a file size limit into a clean error before HDF5 writes anything; only another program filling
    the disk during the assembly can still hit the crash (docs/caches.md).
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            os.posix_fallocate(fd, 0, size)
        finally:
            os.close(fd)
    except OSError as error:
        raise WriteError(f"cannot write {path}: {error.strerror or error} (the cache needs up to "
                         f"{size / 1e6:.1f} MB)") from None


def _write_sources(f: h5py.File, kept: list[tuple[Source, dict, int]]) -> None:
    f.create_dataset("sources/name", data=[s.name for s, _, _ in kept], dtype=_STR)
    f.create_dataset("sources/label", data=[s.label for s, _, _ in kept], dtype=_STR)
    f.create_dataset("sources/sha256", data=[r["sha256"] for _, r, _ in kept], dtype=_STR)
    f.create_dataset("sources/meta", data=[json.dumps(s.meta, sort_keys=True) for s, _, _ in kept], dtype=_STR)
    f.create_dataset("sources/examples", data=np.array([n for _, _, n in kept], dtype=np.int64))


def _write_skipped(f: h5py.File, skipped: list[tuple[str, str]]) -> None:
    f.create_dataset("skipped/name", data=[n for n, _ in skipped], dtype=_STR, shape=(len(skipped),))
    f.create_dataset("skipped/reason", data=[r for _, r in skipped], dtype=_STR, shape=(len(skipped),))


def _write_attrs(f: h5py.File, config: FeatureConfig, identity: dict, vocabulary: LabelVocabulary,
                 total: int) -> None:
    f.attrs["schema_version"] = SCHEMA_VERSION
    f.attrs["audiofeat_version"] = __version__
    f.attrs["config"] = json.dumps(config_to_dict(config), sort_keys=True)
    f.attrs["config_hash"] = identity["config_hash"]
    f.attrs["inputs_digest"] = identity["inputs_digest"]
    f.attrs["shard"] = identity["shard"]
    f.attrs["vocabulary"] = json.dumps(vocabulary.to_dict())
    f.attrs["n_examples"] = total
    f.attrs["created"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _strings(dataset: h5py.Dataset) -> list[str]:
    return [s.decode() if isinstance(s, bytes) else str(s) for s in dataset[()]]


def _read_identity(path: Path) -> dict | None:
    try:
        with h5py.File(path, "r") as f:
            return {"config_hash": f.attrs.get("config_hash"), "inputs_digest": f.attrs.get("inputs_digest"),
                    "shard": f.attrs.get("shard"), "schema_version": int(f.attrs.get("schema_version", -1))}
    except OSError as error:
        raise ParameterError(f"{path} exists but is not a readable HDF5 cache ({error}); "
                             "use overwrite (--overwrite) to replace it") from None


def _difference(old: dict | None, new: dict) -> str:
    if old is None:
        return "an unknown build"
    changed = []
    if old.get("config_hash") != new["config_hash"]:
        changed.append(f"another config (hash {str(old.get('config_hash'))[:8]}, now {new['config_hash'][:8]})")
    if old.get("inputs_digest") != new["inputs_digest"]:
        changed.append("other input files (files were added, removed or modified since)")
    if old.get("shard") != new["shard"]:
        changed.append(f"shard {old.get('shard')} (now {new['shard']})")
    if old.get("schema_version") != new["schema_version"]:
        changed.append(f"schema version {old.get('schema_version')}")
    return " and ".join(changed) or "the same settings"


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json_atomic(path: Path, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, sort_keys=True))


# --- merging -------------------------------------------------------------------------------------

def merge_caches(output: str | os.PathLike, shards: Sequence[str | os.PathLike], *, overwrite: bool = False) -> Path:
    """Joins shard caches into one cache whose features are HDF5 virtual datasets.

    The feature data stay in the shard files (which must stay next to ``output``: their paths are
    stored relative to it); labels, sources, skipped lists and statistics are copied and combined.

    Raises:
        ParameterError: shards of different configs or inputs, a missing or repeated shard, or an
            existing ``output`` without ``overwrite``.
    """
    output = Path(output)
    with _writing(output), _build_lock(output):
        return _merge(output, [Path(p) for p in shards], overwrite)


def _merge(output: Path, shards: list[Path], overwrite: bool) -> Path:
    if output.exists() and not overwrite:
        raise ParameterError(f"{output} exists; use overwrite (--overwrite) to replace it")
    if not shards:
        raise ParameterError("merge needs at least one shard")
    infos = []
    for path in shards:
        with h5py.File(path, "r") as f:
            infos.append((path, dict(f.attrs), {k: f[f"features/{k}"].shape for k in f["features"]}))
    first = infos[0][1]
    for path, attrs, _ in infos:
        for key in ("config_hash", "inputs_digest", "vocabulary", "schema_version"):
            if attrs[key] != first[key]:
                raise ParameterError(f"{path} has another {key} than {infos[0][0]}: shards must come from one build")
    seen = sorted(parse_shard(attrs["shard"]) for _, attrs, _ in infos)
    count = seen[0][1]
    if [s for s, _ in seen] != list(range(count)) or any(n != count for _, n in seen):
        raise ParameterError(f"shards {[f'{i}/{n}' for i, n in seen]} do not cover 0..{count - 1} exactly once")
    infos.sort(key=lambda info: parse_shard(info[1]["shard"]))
    total = sum(int(attrs["n_examples"]) for _, attrs, _ in infos)
    tmp = output.with_name(output.name + ".tmp")
    try:
        with h5py.File(tmp, "w") as out:
            for name, shape in infos[0][2].items():
                layout = h5py.VirtualLayout(shape=(total, *shape[1:]), dtype="float32")
                row = 0
                for path, _, shapes in infos:
                    n = shapes[name][0]
                    rel = os.path.relpath(path.resolve(), output.resolve().parent)
                    layout[row:row + n] = h5py.VirtualSource(rel, f"features/{name}", shape=shapes[name])
                    row += n
                out.create_virtual_dataset(f"features/{name}", layout)
            _merge_tables(out, [p for p, _, _ in infos])
            for key in ("schema_version", "config", "config_hash", "inputs_digest", "vocabulary"):
                out.attrs[key] = first[key]
            out.attrs["audiofeat_version"] = __version__
            out.attrs["shard"] = "0/1"
            out.attrs["n_examples"] = total
            out.attrs["merged_from"] = json.dumps([_shard_record(p, attrs, output) for p, attrs, _ in infos])
            out.attrs["created"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        os.replace(tmp, output)
    finally:
        if tmp.exists():
            tmp.unlink()
    return output


def _shard_record(path: Path, attrs: dict, output: Path) -> dict:
    """What a merged cache remembers of a shard, to notice later that it moved or changed."""
    return {"path": os.path.relpath(path.resolve(), output.resolve().parent), "size": path.stat().st_size,
            "created": str(attrs["created"]), "n_examples": int(attrs["n_examples"])}


def check_shards(path: str | os.PathLike) -> None:
    """Checks that every shard a merged cache reads from is where it was and unchanged since the merge
    (size, creation time and example count); a no-op for a cache that is not merged.

    Raises:
        ParameterError: names the missing or changed shard. Without this check the virtual datasets
            would silently read a missing shard's examples as zeros.
    """
    path = Path(path)
    with h5py.File(path, "r") as f:
        records = json.loads(f.attrs.get("merged_from", "[]"))
    for record in records:
        record = {"path": record} if isinstance(record, str) else record  # merged before sizes were recorded
        shard = path.parent / record["path"]
        if not shard.is_file():
            raise ParameterError(f"{path} is merged from {shard}, which is missing: put the shard back "
                                 "(shard paths are relative to the merged file) or merge again")
        try:
            with h5py.File(shard, "r") as f:
                now = {"size": shard.stat().st_size, "created": str(f.attrs.get("created")),
                       "n_examples": int(f.attrs.get("n_examples", -1))}
        except OSError as error:
            raise ParameterError(f"{path} is merged from {shard}, which is not a readable cache ({error})") from None
        changed = [f"{key} {record[key]} -> {now[key]}" for key in now if record.get(key, now[key]) != now[key]]
        if changed:
            raise ParameterError(f"{path} is merged from {shard}, which changed since the merge "
                                 f"({', '.join(changed)}): merge the shards again")


def _merge_tables(out: h5py.File, paths: Sequence[Path]) -> None:
    columns: dict[str, list] = {}
    moments: dict[str, _Moments] = {}
    source_offset = 0
    for path in paths:
        with h5py.File(path, "r") as f:
            for group in ("labels", "examples", "sources", "skipped"):
                for key in f[group]:
                    values = f[f"{group}/{key}"][()]
                    if group == "examples" and key == "source_index":
                        values = values + source_offset
                    columns.setdefault(f"{group}/{key}", []).append(values)
            source_offset += len(f["sources/name"])
            for name in f["stats"]:
                part = _Moments.read(f[f"stats/{name}"])
                if name in moments:
                    moments[name].merge(part)
                else:
                    moments[name] = part
    for key, values in columns.items():
        joined = np.concatenate(values)
        if joined.dtype.kind in "OSU":
            out.create_dataset(key, data=[v.decode() if isinstance(v, bytes) else v for v in joined], dtype=_STR,
                               shape=(len(joined),))
        else:
            out.create_dataset(key, data=joined)
    for name, m in moments.items():
        m.write(out.create_group(f"stats/{name}"))


# --- reading -------------------------------------------------------------------------------------

class FeatureCache(Dataset):
    """A cache as a torch ``Dataset`` of ``(x, c, meta)``.

    - ``x``: float32 ``(channels, freq, frames)`` of the requested feature; several features of the
      same shape are stacked along the channel axis in the order given.
    - ``c``: float32 conditioning vector ``(c_dim,)`` (:class:`audiofeat.labels.LabelVocabulary`);
      when the sources' manifest had a ``genre`` column, the vocabulary has its genres and ``c`` a
      genre part (``genre_index`` -1 and zeros for a source without a genre).
    - ``meta``: ``{"index", "class_index", "subclass_index", "genre_index", "label", "source", "offset"}``.

    The HDF5 file is opened lazily, once per process, so the dataset works with any number of
    DataLoader workers (each worker gets its own handle after the fork or spawn).
    """

    def __init__(self, path: str | os.PathLike, features: Sequence[str] | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise ParameterError(f"cache {self.path} does not exist")
        try:
            with h5py.File(self.path, "r") as f:
                attrs = dict(f.attrs)
                available = list(f["features"])
                self.class_index = f["labels/class_index"][()]
                self.subclass_index = f["labels/subclass_index"][()]
                self.labels = _strings(f["labels/label"])
                self.source_names = _strings(f["sources/name"])
                self.source_index = f["examples/source_index"][()]
                self.offsets = f["examples/offset"][()]
                shapes = {k: f[f"features/{k}"].shape[1:] for k in available}
        except (OSError, KeyError) as error:
            raise ParameterError(f"{self.path} is not a complete audiofeat cache ({error})") from None
        check_shards(self.path)
        if int(attrs.get("schema_version", -1)) != SCHEMA_VERSION:
            raise ParameterError(f"{self.path} has schema version {attrs.get('schema_version')}, "
                                 f"this audiofeat reads {SCHEMA_VERSION}")
        self.available = tuple(available)
        self.features = tuple(features) if features else self.available
        missing = [k for k in self.features if k not in available]
        if missing:
            raise ParameterError(f"{self.path} has no feature(s) {missing}; it has {available}")
        trailing = {shapes[k][1:] for k in self.features}
        if len(trailing) != 1 and features:
            raise ParameterError(f"features {list(self.features)} have different shapes "
                                 f"{[shapes[k] for k in self.features]} "
                                 "and cannot be stacked; open them one at a time")
        # opened without a choice, a cache whose features differ in shape (log_mag and mel, say) can
        # still be inspected; only reading examples needs a stackable choice
        self.shape = (sum(shapes[k][0] for k in self.features), *trailing.pop()) if len(trailing) == 1 else None
        self.config = config_from_dict(FeatureConfig, json.loads(attrs["config"]), source=str(self.path))
        self.vocabulary = LabelVocabulary.from_dict(json.loads(attrs["vocabulary"]))
        self.attrs = attrs
        self.genre_index = np.full(len(self.class_index), -1, dtype=np.int64)
        genres = self.example_meta("genre")  # the sources' manifest column, from a taxonomy with genres
        if genres is not None:
            self.vocabulary = self.vocabulary.with_genres(genres)
            self.genre_index = self.vocabulary.genre_index(genres).numpy()
        self._conditioning = self.vocabulary.one_hot(self.class_index, self.subclass_index, self.genre_index)
        self._file: h5py.File | None = None
        self._pid: int | None = None

    def __len__(self) -> int:
        return len(self.class_index)

    def _handle(self) -> h5py.File:
        if self._file is None or self._pid != os.getpid():
            self._file = h5py.File(self.path, "r")
            self._pid = os.getpid()
        return self._file

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for a cache of {len(self)} examples")
        index = index % len(self)
        if self.shape is None:
            raise ParameterError(f"{self.path}: features {list(self.features)} differ in shape; open the cache with "
                                 "features=[...] of one shape to read examples")
        f = self._handle()
        try:
            arrays = [f[f"features/{k}"][index] for k in self.features]
        except OSError as error:  # e.g. a Fletcher-32 checksum mismatch: the file was damaged on disk
            raise ParameterError(f"{self.path}: example {index} cannot be read ({error}); the file is damaged, "
                                 "build it again") from None
        x = torch.from_numpy(arrays[0] if len(arrays) == 1 else np.concatenate(arrays, axis=0))
        meta = {"index": index, "class_index": int(self.class_index[index]),
                "subclass_index": int(self.subclass_index[index]), "genre_index": int(self.genre_index[index]),
                "label": self.labels[index],
                "source": self.source_names[self.source_index[index]], "offset": int(self.offsets[index])}
        return x, self._conditioning[index], meta

    def example_meta(self, column: str) -> list[str] | None:
        """The manifest column ``column`` of each example's source file (``""`` where a source lacks
        it), or ``None`` when no source has it (e.g. the ``kit`` of :mod:`audiofeat.datasets.debian`)."""
        with h5py.File(self.path, "r") as f:
            meta = [json.loads(m) for m in _strings(f["sources/meta"])]
        if not any(column in m for m in meta):
            return None
        return [str(meta[i].get(column, "")) for i in self.source_index]

    def stats(self, feature: str) -> dict[str, np.ndarray]:
        """Per-bin ``mean``, ``std``, ``min`` and ``max`` of a feature, each ``(channels, freq)``."""
        with h5py.File(self.path, "r") as f:
            group = f[f"stats/{feature}"]
            return {k: group[k][()] for k in ("mean", "std", "min", "max")}

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_file"] = None
        state["_pid"] = None
        return state

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def open_cache(path: str | os.PathLike, features: Sequence[str] | None = None) -> FeatureCache:
    """Opens a cache for reading (see :class:`FeatureCache`)."""
    return FeatureCache(path, features)


def describe_cache(path: str | os.PathLike) -> str:
    """A human-readable summary of a cache (what ``audiofeat info`` prints)."""
    cache = open_cache(path)
    attrs = cache.attrs
    config = json.loads(attrs["config"])
    lines = [f"{cache.path} ({cache.path.stat().st_size / 1e6:.1f} MB)",
             f"  schema {attrs['schema_version']}, made by audiofeat {attrs['audiofeat_version']} "
             f"on {attrs['created']}",
             f"  config hash {attrs['config_hash'][:12]}, shard {attrs['shard']}",
             f"  audio: {json.dumps(config['audio'])}",
             f"  {len(cache)} examples from {len(cache.source_names)} source files"]
    with h5py.File(cache.path, "r") as f:
        for name in f["features"]:
            d = f[f"features/{name}"]
            std = f[f"stats/{name}/std"][()]
            lines.append(f"  feature {name}: shape {d.shape[1:]}, {d.dtype}, chunks {d.chunks}, "
                         f"range [{f[f'stats/{name}/min'][()].min():.4g}, {f[f'stats/{name}/max'][()].max():.4g}], "
                         f"mean per-bin std {std.mean():.4g}")
        skipped = list(zip(_strings(f["skipped/name"]), _strings(f["skipped/reason"])))
    counts = np.bincount(cache.subclass_index, minlength=cache.vocabulary.n_subclasses)
    lines.append(f"  {cache.vocabulary.n_classes} classes, {cache.vocabulary.n_subclasses} subclasses "
                 f"(c_dim {cache.vocabulary.c_dim}):")
    lines += [f"    {name:<28} {count:>7}" for name, count in zip(cache.vocabulary.subclasses, counts)]
    lines.append(f"  {len(skipped)} input(s) skipped" + (":" if skipped else ""))
    lines += [f"    {name}: {reason}" for name, reason in skipped]
    return "\n".join(lines)
