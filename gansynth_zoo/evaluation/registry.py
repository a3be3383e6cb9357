"""Metrics by name, as in StyleGAN2-ADA's ``metric_main``: each is one registered function of an
:class:`EvalContext` that returns a JSON-able dict (and appends it to ``RUN/metric-<name>.jsonl``).

``gansynth-zoo evaluate RUN --metrics a,b`` runs the named ones; without ``--metrics`` a run gets
the metrics registered as defaults for its data kind (:func:`data_kind`): ``digits`` for MNIST
and the 8x8 digits, ``audio`` for spectrogram caches, ``mdct`` for runs that see the MDCT alone.
Adding a metric means writing one function under ``@register_metric("name")``.
"""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from audiofeat.config import config_from_dict
from audiofeat.exceptions import ConfigError, ParameterError
from audiofeat.progress import Progress
from gansynth_zoo import builders
from gansynth_zoo.config import RunConfig
from gansynth_zoo.data.dataset import TrainingData
from gansynth_zoo.evaluation.audio import evaluate_audio, format_genre_table, format_subclass_table
from gansynth_zoo.evaluation.digits import evaluate_digits
from gansynth_zoo.evaluation.exported import evaluate_exports, format_export_table
from gansynth_zoo.evaluation.mdct import evaluate_mdct
from gansynth_zoo.evaluation.rtf import format_rtf_table, record_real_time_factors

__all__ = ["METRICS", "DataKind", "EvalContext", "Metric", "calc_metric", "data_kind", "default_metrics",
           "register_metric"]

DataKind = Literal["digits", "audio", "mdct"]


@dataclass
class EvalContext:
    """What a metric may use: the run, where to compute and the user's options.

    Attributes:
        run_dir: the run folder (its ``config.json`` and ``generator.pt``).
        device: where to generate and classify.
        samples: generated examples (``None``: the run's ``eval.samples``).
        seed: seed of the generated latents.
        classifier_path: the evaluation classifier's file (digits), or a file in the folder where the
            audio classifiers are kept (``None``: under ``data/classifiers``).
        checkpoints: also score every kept checkpoint (the MDCT learning curve).
        status: receives lines worth keeping in a log.
        progress: hears the progress of the long steps (:mod:`audiofeat.progress`).
    """

    run_dir: Path
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    samples: int | None = None
    seed: int = 0
    classifier_path: Path | None = None
    checkpoints: bool = False
    status: Callable[[str], None] | None = None
    progress: Progress | None = None

    @functools.cached_property
    def config(self) -> RunConfig:
        if not (self.run_dir / "config.json").is_file():
            raise ParameterError(f"{self.run_dir}: not a run folder (no config.json)")
        return config_from_dict(RunConfig, json.loads((self.run_dir / "config.json").read_text()),
                                source=str(self.run_dir))

    @functools.cached_property
    def data(self) -> TrainingData:
        """The run's training data, loaded once for all metrics that need it."""
        return builders.build_data(self.config)


@dataclass(frozen=True)
class Metric:
    name: str
    fn: Callable[[EvalContext], dict[str, Any]]
    default_for: tuple[DataKind, ...] = ()
    format: Callable[[dict[str, Any]], str] | None = None  # a human-readable summary of the result


METRICS: dict[str, Metric] = {}


def register_metric(name: str, *, default_for: tuple[DataKind, ...] = (),
                    format: Callable[[dict[str, Any]], str] | None = None):
    """Registers the decorated ``fn(context) -> dict`` under ``name``; ``default_for`` lists the data
    kinds whose runs get it when ``--metrics`` is not given."""
    def decorate(fn: Callable[[EvalContext], dict[str, Any]]) -> Callable[[EvalContext], dict[str, Any]]:
        if name in METRICS:
            raise ConfigError(f"metric {name!r} is registered twice")
        METRICS[name] = Metric(name, fn, default_for, format)
        return fn
    return decorate


def data_kind(context: EvalContext) -> DataKind:
    """``digits`` for digit sources, ``mdct`` for a cache seen as the MDCT alone, else ``audio``."""
    if context.config.data.source != "cache":
        return "digits"
    return "mdct" if tuple(context.data.info["representation"]["features"]) == ("mdct",) else "audio"


def default_metrics(context: EvalContext) -> list[str]:
    kind = data_kind(context)
    return [name for name, metric in METRICS.items() if kind in metric.default_for]


def calc_metric(name: str, context: EvalContext) -> dict[str, Any]:
    """Runs metric ``name`` on the context's run.

    Raises:
        ConfigError: an unknown name (the message lists the registered ones).
    """
    if name not in METRICS:
        raise ConfigError(f"unknown metric {name!r}; registered metrics: {', '.join(METRICS)}")
    return METRICS[name].fn(context)


def _samples(context: EvalContext) -> int:
    return context.samples or context.config.eval.samples


# --- the built-in metrics ----------------------------------------------------------------------------

@register_metric("digits", default_for=("digits",))
def digits(context: EvalContext) -> dict[str, Any]:
    """The digit suite (:mod:`gansynth_zoo.evaluation.digits`)."""
    source = context.config.data.source
    return evaluate_digits(context.run_dir, samples=_samples(context), seed=context.seed, device=context.device,
                           classifier_path=context.classifier_path or Path(f"data/classifiers/{source}.pt"),
                           classifier_steps=context.config.eval.classifier_steps, status=context.status,
                           progress=context.progress)


def _audio_tables(result: dict[str, Any]) -> str:
    tables = [format_subclass_table(result)]
    return "\n".join([*tables, format_genre_table(result)] if "genre_table" in result else tables)


@register_metric("audio", default_for=("audio",), format=_audio_tables)
def audio(context: EvalContext) -> dict[str, Any]:
    """The spectrogram suite (:mod:`gansynth_zoo.evaluation.audio`), ``samples`` spread over the labels."""
    data = context.data
    per_category = max(1, _samples(context) // len(data.label_names))
    return evaluate_audio(context.run_dir, data, samples_per_category=per_category,
                          classifier_steps=context.config.eval.classifier_steps,
                          classifier_path=context.classifier_path,
                          seed=context.seed, device=context.device, status=context.status,
                          progress=context.progress)


@register_metric("mdct", default_for=("mdct",))
def mdct(context: EvalContext) -> dict[str, Any]:
    """Tonality, masking, level and FD of MDCT runs (:mod:`gansynth_zoo.evaluation.mdct`)."""
    return evaluate_mdct(context.run_dir, context.data, samples=_samples(context), seed=context.seed,
                         device=context.device, checkpoints=context.checkpoints, progress=context.progress)


@register_metric("export", format=format_export_table)
def export(context: EvalContext) -> dict[str, Any]:
    """PyTorch against the ONNX exports, float32 and int8, through sound
    (:mod:`gansynth_zoo.evaluation.exported`), ``samples`` spread over the labels."""
    data = context.data
    if data.info.get("representation") is None:
        raise ParameterError(f"{context.run_dir}: the export metric is for audio runs")
    per_category = max(1, _samples(context) // len(data.label_names))
    return evaluate_exports(context.run_dir, data, samples_per_category=per_category,
                            classifier_steps=context.config.eval.classifier_steps,
                            classifier_path=context.classifier_path, seed=context.seed, device=context.device,
                            progress=context.progress)


@register_metric("rtf", format=format_rtf_table)
def rtf(context: EvalContext) -> dict[str, Any]:
    """Real-time factors at batch 1 and 64 (:mod:`gansynth_zoo.evaluation.rtf`), one record per batch."""
    return record_real_time_factors(context.run_dir, device=context.device, progress=context.progress)
