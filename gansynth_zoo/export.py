"""Generators exported for use without this package: one ONNX (onnxruntime) or TorchScript file that
maps ``(z, c)`` towards sound, carrying what a player needs to use it.

``gansynth-zoo export RUN --format onnx|torchscript --out FILE`` traces the run's EMA generator and
the part of its inversion that is a fixed graph of real operators (:class:`_Synthesis`), at a
dynamic batch size. Its outputs, by representation:

- MDCT (MP3Net): ``waveform``, the IMDCT done in the graph as two matrix products and an overlap;
- instantaneous frequency: ``magnitude`` and ``phase``, for an inverse STFT;
- mel or log-magnitude alone: ``magnitude``, the linear STFT magnitude (mel through the filterbank's
  pseudo-inverse), whose phase PGHI and Griffin-Lim find outside the graph
  (:mod:`gansynth_zoo.runtime`, numpy): the frame-by-frame PGHI recursion and the complex
  spectra of the iterations are not operators ONNX has;
- images (MNIST): ``images``.

The file's metadata (:func:`export_metadata`; ONNX ``metadata_props`` key ``gansynth_zoo``,
TorchScript extra file ``metadata.json``) holds the category names and their conditioning vectors,
the genres, ``z_dim``, the sample rate and clip length, the representation (features, normalisation
statistics, STFT/MDCT settings), the outputs and the source run and step.

``--quantize int8`` (ONNX only) stores the weights as 8-bit integers with onnxruntime's dynamic
quantisation (activations are quantised on the fly). The weights are unsigned with a zero point:
with signed weights onnxruntime's integer convolution ran 4x slower on this x86 CPU (5.7 against
1.5 ms for the demo's generator). PyTorch's dynamic quantisation covers linear layers only, not the
convolutions that make up these generators.
"""
from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from audiofeat._files import atomic_path
from audiofeat.exceptions import ParameterError
from audiofeat.features import FeatureConfig
from audiofeat.functional.mdct import imdct
from audiofeat.functional.spectral import phase_from_instantaneous_frequency
from gansynth_zoo.data.cache import Representation
from gansynth_zoo.evaluation.sampling import load_generator
from gansynth_zoo.runtime import EXPORT_FORMAT, METADATA_KEY
from gansynth_zoo.synthesis import model_vocabulary

__all__ = ["export_generator", "export_metadata"]

ExportFormat = Literal["onnx", "torchscript"]


def export_metadata(export: dict[str, Any], source: str | os.PathLike) -> dict[str, Any]:
    """The metadata of an exported generator, from its ``generator.pt`` contents (module docstring)."""
    genres, _, names = model_vocabulary(export)
    representation = export["data"].get("representation")
    audio = representation["feature_config"]["audio"] if representation else None
    return {"format": EXPORT_FORMAT, "source": str(source), "step": int(export["step"]),
            "z_dim": int(export["z_dim"]), "label_names": names, "genres": genres,
            "conditioning": export["conditioning"].tolist(),
            "sample_rate": audio["sample_rate"] if audio else None, "length": audio["length"] if audio else None,
            "representation": representation}


class _Synthesis(nn.Module):
    """The generator, then the part of its representation's inversion that is a fixed graph of real
    operators: the features decoded, then the linear magnitude (mel and log-magnitude models), the
    magnitude and the phase (instantaneous frequency) or the waveform (MDCT, whose inverse is two
    matrix products and an overlap). :attr:`outputs` names them."""

    mel_fbank: torch.Tensor | None
    mel_inverse: torch.Tensor | None
    imdct_first: torch.Tensor
    imdct_second: torch.Tensor

    def __init__(self, G: nn.Module, representation: Representation):
        super().__init__()
        self.G, self.representation = G, representation
        config, features = representation.feature_config, set(representation.features)
        if "mdct" in features:
            self.outputs: tuple[str, ...] = ("waveform",)
            first, second = _imdct_halves(config)
            self.register_buffer("imdct_first", first)
            self.register_buffer("imdct_second", second)
            return
        if not features & {"log_mag", "mel"}:
            raise ParameterError(f"features {list(representation.features)} cannot be turned into sound")
        self.outputs = ("magnitude", "phase") if "if" in features else ("magnitude",)
        # the magnitude comes from the mel only without log_mag (Representation.linear_magnitude)
        fbank = None if "log_mag" in features else config.mel_filterbank()
        self.register_buffer("mel_fbank", fbank)
        self.register_buffer("mel_inverse", None if fbank is None else torch.linalg.pinv(fbank.double()).float())

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, ...]:
        parts = self.representation.decode(self.G(z, c))
        if "mdct" in parts:
            x = parts["mdct"]  # (batch, channels, n, frames): block b = first half of frame b + 1 + second of b
            blocks = (torch.einsum("sn,bcnf->bcfs", self.imdct_first, x[..., 1:])
                      + torch.einsum("sn,bcnf->bcfs", self.imdct_second, x[..., :-1]))
            return (blocks.flatten(2).clamp(-1.0, 1.0),)
        magnitude = self.representation.linear_magnitude(parts, mel_fbank=self.mel_fbank,
                                                         mel_inverse=self.mel_inverse)
        if "if" in parts:
            return magnitude, phase_from_instantaneous_frequency(parts["if"])
        return (magnitude,)


def _imdct_halves(config: FeatureConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """The matrices ``(A, B)`` with ``imdct(X)`` block ``b`` = ``A X[:, b + 1] + B X[:, b]`` for the
    config's MDCT, read off :func:`audiofeat.functional.imdct` by feeding it unit coefficients."""
    n = config.mdct.n_bins
    units = torch.zeros(2 * n, n, 2, dtype=torch.float64)
    units[torch.arange(n), torch.arange(n), 1] = 1.0  # in frame 1: the first-half matrix
    units[n + torch.arange(n), torch.arange(n), 0] = 1.0  # in frame 0: the second-half matrix
    blocks = imdct(units, window=config.mdct.window, norm=config.mdct.norm)  # (2n, n samples)
    return blocks[:n].T.float(), blocks[n:].T.float()


def export_generator(source: str | os.PathLike, out: str | os.PathLike, *, format: ExportFormat = "onnx",
                     quantize: Literal["int8"] | None = None) -> Path:
    """Writes the EMA generator of ``source`` (a run folder or ``generator.pt``-format file), with the
    fixed-graph part of its inversion, to ``out``.

    Raises:
        ParameterError: an unknown format, ``quantize`` with TorchScript, or ONNX without the
            ``export`` extra (onnx, onnxscript, onnxruntime).
    """
    if format not in ("onnx", "torchscript"):
        raise ParameterError(f"format must be onnx or torchscript, got {format!r}")
    if quantize not in (None, "int8") or (quantize and format != "onnx"):
        raise ParameterError(f"quantize int8 is available for ONNX only (got {quantize!r} with {format})")
    G, export = load_generator(source)
    representation = export["data"].get("representation")
    graph: nn.Module = G
    outputs: tuple[str, ...] = ("images",)
    if representation is not None:
        synthesis = _Synthesis(G, Representation.from_dict(representation))
        graph, outputs = synthesis, synthesis.outputs
    metadata = json.dumps({**export_metadata(export, source), "outputs": list(outputs)})
    z = torch.randn(2, export["z_dim"], generator=torch.Generator().manual_seed(0))
    c = export["conditioning"][:2] if G.c_dim else torch.zeros(2, 0)
    out = Path(out)
    with atomic_path(out) as tmp:
        if format == "torchscript":
            with torch.no_grad():
                traced = torch.jit.trace(graph.eval(), (z, c), strict=False)
            torch.jit.save(traced, str(tmp), _extra_files={"metadata.json": metadata})
        else:
            _export_onnx(graph.eval(), (z, c), outputs, Path(tmp), metadata, quantize)
    return out


def _export_onnx(graph: nn.Module, example: tuple[torch.Tensor, torch.Tensor], outputs: tuple[str, ...], path: Path,
                 metadata: str, quantize: str | None) -> None:
    try:
        import onnx  # the optional export extra
    except ImportError as error:
        raise ParameterError("ONNX export needs the export extra: pip install 'gansynth-zoo[export]'") from error
    batch = torch.export.Dim("batch", min=1, max=4096)
    plain = path.with_name(path.name + ".float32")
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    try:
        # the exporter's notes about torchvision operators and its own deprecations are not the user's
        registration.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="# The axis name", category=UserWarning)
            warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)`", category=FutureWarning)
            torch.onnx.export(graph, example, str(plain), dynamo=True, input_names=["z", "c"],
                              output_names=list(outputs), dynamic_shapes=({0: batch}, {0: batch}), verbose=False)
        if quantize:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            root = logging.getLogger()
            root_level = root.level
            root.setLevel(logging.ERROR)  # its advice to pre-process the model changed nothing here (issue 22)
            try:
                # unsigned weights: onnxruntime's integer convolution is 4x slower with signed ones on x86
                quantize_dynamic(str(plain), str(path), weight_type=QuantType.QUInt8)
            finally:
                root.setLevel(root_level)
        else:
            plain.replace(path)
        model = onnx.load(str(path))
        entry = model.metadata_props.add()
        entry.key, entry.value = METADATA_KEY, metadata
        onnx.save(model, str(path))
    finally:
        registration.setLevel(level)
        plain.unlink(missing_ok=True)
        plain.with_name(plain.name + ".data").unlink(missing_ok=True)
