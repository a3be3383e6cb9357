"""What exporting costs in quality: the same latents through PyTorch and through the run's ONNX
exports, float32 and int8 (:mod:`gansynth_zoo.export`), judged by ear-side measures.

Every variant makes waveforms of the same seeded latents, ``samples_per_category`` per subclass:
PyTorch as ``gansynth-zoo sample`` does (the generator, then ``Representation.to_audio``), the
exports through :mod:`gansynth_zoo.runtime` (numpy inversion, no PyTorch). The waveforms are analysed
again with the cache's feature config (as ``conditional_accuracy_audio`` of the audio suite does) and
judged by the run's subclass classifier (:func:`gansynth_zoo.evaluation.audio.subclass_classifier`):
``conditional_accuracy`` (the requested subclass is recognised) and ``frechet_distance`` (classifier
embeddings against the held-out real examples), with the file size of each export and
``feature_difference``, the mean absolute difference of the analysed features (model scale) from
PyTorch's. Waveforms are not compared sample by sample: the numpy inversion runs in float64 and
PyTorch's in float32, and PGHI's choices of neighbour can flip between the two, which moves the
phase but not the spectrogram. The record is appended to ``metric-export.jsonl``.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from audiofeat.progress import Progress
from gansynth_zoo.data.cache import Representation
from gansynth_zoo.evaluation.audio import _magnitude_channels, cache_kits, heard_features, subclass_classifier
from gansynth_zoo.evaluation.metrics import report_metric
from gansynth_zoo.evaluation.metrics.classifier import accuracy, embed, predict
from gansynth_zoo.evaluation.metrics.frechet import frechet_distance
from gansynth_zoo.evaluation.sampling import load_generator
from gansynth_zoo.export import export_generator
from gansynth_zoo.runtime import ExportedModel

__all__ = ["evaluate_exports", "format_export_table"]


def evaluate_exports(run_dir: str | os.PathLike, data, *, samples_per_category: int = 16,
                     classifier_steps: int = 1500, classifier_path: str | os.PathLike | None = None, seed: int = 0,
                     n_iter: int = 32, batch_size: int = 64, device: torch.device | str = "cpu",
                     progress: Progress | None = None) -> dict[str, Any]:
    """Scores PyTorch, ONNX float32 and ONNX int8 on the same latents (module docstring)."""
    run_dir = Path(run_dir)
    G, export = load_generator(run_dir, device)
    representation = Representation.from_dict(data.info["representation"])
    classifier, _, _, test_rows = subclass_classifier(data, cache_kits(data), classifier_path, steps=classifier_steps,
                                                      device=device, progress=progress)
    real = embed(classifier, _magnitude_channels(data.x[test_rows], representation), device).numpy()
    labels = torch.arange(len(data.label_names)).repeat_interleave(samples_per_category)
    z = torch.randn(len(labels), export["z_dim"], generator=torch.Generator().manual_seed(seed))
    c = export["conditioning"][labels]
    chunks = range(0, len(labels), batch_size)
    waveforms: dict[str, torch.Tensor] = {}
    sizes: dict[str, float] = {}
    with torch.no_grad():
        waveforms["pytorch"] = torch.cat([
            representation.to_audio(G(z[i:i + batch_size].to(device), c[i:i + batch_size].to(device)).float().cpu(),
                                    n_iter=n_iter) for i in chunks])
    with tempfile.TemporaryDirectory() as tmp:
        for name, quantize in (("onnx float32", False), ("onnx int8", True)):
            path = export_generator(run_dir, Path(tmp) / f"{name.split()[1]}.onnx",
                                    quantize="int8" if quantize else None)
            sizes[name] = path.stat().st_size / 1e6
            model = ExportedModel(path)
            parts = []
            for i in chunks:
                parts.append(torch.from_numpy(model.audio(z[i:i + batch_size].numpy(), c[i:i + batch_size].numpy(),
                                                          n_iter=n_iter)))
                if progress:
                    progress(f"sound from {name}", min(i + batch_size, len(labels)), len(labels))
            waveforms[name] = torch.cat(parts)
    heard = {name: _magnitude_channels(heard_features(audio, representation), representation)
             for name, audio in waveforms.items()}
    variants = []
    for name, features in heard.items():
        probs = predict(classifier, features, device)
        variants.append({"variant": name, "conditional_accuracy": accuracy(probs, labels),
                         "frechet_distance": frechet_distance(embed(classifier, features, device).numpy(), real),
                         "file_mb": sizes.get(name),
                         "feature_difference": float((features - heard["pytorch"]).abs().mean())})
    result = {"step": int(export["step"]), "samples": len(labels), "seed": seed, "griffinlim_iters": n_iter,
              "variants": variants}
    report_metric(run_dir, "export", result, checkpoint=f"generator.pt (step {export['step']})")
    return result


def format_export_table(result: dict[str, Any]) -> str:
    """The variants as a markdown table."""
    lines = ["| variant | accuracy (through sound) | FD | file (MB) | feature difference from PyTorch |",
             "|---|---|---|---|---|"]
    for row in result["variants"]:
        size = "-" if row["file_mb"] is None else f"{row['file_mb']:.2f}"
        lines.append(f"| {row['variant']} | {row['conditional_accuracy']:.3f} | {row['frechet_distance']:.2f} | "
                     f"{size} | {row['feature_difference']:.3f} |")
    return "\n".join(lines)
