"""Generators exported for use without this package: ONNX (onnxruntime) or TorchScript files that map
``(z, c)`` to the model's features, carrying what a player needs to use them.

``gansynth-zoo export RUN --format onnx|torchscript --out FILE`` traces the run's EMA generator at a
dynamic batch size. The file's metadata (:func:`export_metadata`; ONNX ``metadata_props`` key
``gansynth_zoo``, TorchScript extra file ``metadata.json``) holds the category names and their
conditioning vectors, the genres, ``z_dim``, the sample rate and clip length, the representation
(features, normalisation statistics, STFT/MDCT settings: what turns the features into sound) and the
source run and step.

The graph stops at the features: the shipped models are mel-only, and their inversion (PGHI, then
Griffin-Lim iterations over complex spectra) is neither a fixed graph nor made of operators ONNX has.
``--quantize int8`` (ONNX only) stores the weights as int8 with onnxruntime's dynamic quantisation;
PyTorch's dynamic quantisation covers linear layers only, not the convolutions that make up these
generators.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from audiofeat._files import atomic_path
from audiofeat.exceptions import ParameterError
from gansynth_zoo.evaluation.sampling import load_generator
from gansynth_zoo.synthesis import model_vocabulary

__all__ = ["EXPORT_FORMAT", "ExportedGenerator", "export_generator", "export_metadata"]

EXPORT_FORMAT = "gansynth-zoo-export/1"
ExportFormat = Literal["onnx", "torchscript"]
_METADATA_KEY = "gansynth_zoo"


def export_metadata(export: dict[str, Any], source: str | os.PathLike) -> dict[str, Any]:
    """The metadata of an exported generator, from its ``generator.pt`` contents (module docstring)."""
    genres, _, names = model_vocabulary(export)
    representation = export["data"].get("representation")
    audio = representation["feature_config"]["audio"] if representation else None
    return {"format": EXPORT_FORMAT, "source": str(source), "step": int(export["step"]),
            "z_dim": int(export["z_dim"]), "label_names": names, "genres": genres,
            "conditioning": export["conditioning"].tolist(),
            "sample_rate": audio["sample_rate"] if audio else None, "length": audio["length"] if audio else None,
            "representation": representation, "outputs": "features"}


def export_generator(source: str | os.PathLike, out: str | os.PathLike, *, format: ExportFormat = "onnx",
                     quantize: Literal["int8"] | None = None) -> Path:
    """Writes the EMA generator of ``source`` (a run folder or ``generator.pt``-format file) to ``out``.

    Raises:
        ParameterError: an unknown format, ``quantize`` with TorchScript, or ONNX without the
            ``export`` extra (onnx, onnxscript, onnxruntime).
    """
    if format not in ("onnx", "torchscript"):
        raise ParameterError(f"format must be onnx or torchscript, got {format!r}")
    if quantize not in (None, "int8") or (quantize and format != "onnx"):
        raise ParameterError(f"quantize int8 is available for ONNX only (got {quantize!r} with {format})")
    G, export = load_generator(source)
    metadata = json.dumps(export_metadata(export, source))
    z = torch.randn(2, export["z_dim"], generator=torch.Generator().manual_seed(0))
    c = export["conditioning"][:2] if G.c_dim else torch.zeros(2, 0)
    out = Path(out)
    with atomic_path(out) as tmp:
        if format == "torchscript":
            with torch.no_grad():
                traced = torch.jit.trace(G, (z, c))
            torch.jit.save(traced, str(tmp), _extra_files={"metadata.json": metadata})
        else:
            _export_onnx(G, (z, c), Path(tmp), metadata, quantize)
    return out


def _export_onnx(G: torch.nn.Module, example: tuple[torch.Tensor, torch.Tensor], path: Path, metadata: str,
                 quantize: str | None) -> None:
    try:
        import onnx  # the optional export extra
    except ImportError as error:
        raise ParameterError("ONNX export needs the export extra: pip install 'gansynth-zoo[export]'") from error
    batch = torch.export.Dim("batch", min=1, max=4096)
    plain = path.with_name(path.name + ".float32")
    try:
        torch.onnx.export(G, example, str(plain), dynamo=True, input_names=["z", "c"], output_names=["features"],
                          dynamic_shapes=({0: batch}, {0: batch}), verbose=False)
        if quantize:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(plain), str(path), weight_type=QuantType.QInt8)
        else:
            plain.replace(path)
        model = onnx.load(str(path))
        entry = model.metadata_props.add()
        entry.key, entry.value = _METADATA_KEY, metadata
        onnx.save(model, str(path))
    finally:
        plain.unlink(missing_ok=True)
        plain.with_name(plain.name + ".data").unlink(missing_ok=True)


class ExportedGenerator:
    """An exported file, run with onnxruntime (``.onnx``) or ``torch.jit`` (anything else).

    ``generator(z, c)`` takes and returns float32 numpy arrays; :attr:`metadata` is the file's
    :func:`export_metadata`. ``threads`` sets onnxruntime's intra-op threads (0: its default; a
    TorchScript file runs on PyTorch's threads).
    """

    def __init__(self, path: str | os.PathLike, *, threads: int = 0):
        path = Path(path)
        if not path.is_file():
            raise ParameterError(f"{path}: no such exported model")
        if path.suffix == ".onnx":
            try:
                import onnxruntime
            except ImportError as error:
                raise ParameterError(f"{path}: running ONNX needs onnxruntime (the export extra)") from error
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            self._session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            raw = self._session.get_modelmeta().custom_metadata_map.get(_METADATA_KEY)
            self._module = None
        else:
            files = {"metadata.json": ""}
            try:
                self._module = torch.jit.load(str(path), _extra_files=files)
            except RuntimeError as error:
                raise ParameterError(f"{path}: not a TorchScript file ({error})") from error
            raw = files["metadata.json"] or None
        if not raw or json.loads(raw).get("format") != EXPORT_FORMAT:
            raise ParameterError(f"{path}: not a gansynth-zoo export (no {EXPORT_FORMAT} metadata)")
        self.metadata: dict[str, Any] = json.loads(raw)

    def __call__(self, z: np.ndarray, c: np.ndarray) -> np.ndarray:
        z, c = np.ascontiguousarray(z, np.float32), np.ascontiguousarray(c, np.float32)
        if self._module is None:
            return self._session.run(None, {"z": z, "c": c})[0]
        with torch.no_grad():
            return self._module(torch.from_numpy(z), torch.from_numpy(c)).numpy()
