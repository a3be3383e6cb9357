"""Exported generators: ONNX and TorchScript reproduce the PyTorch generator, carry their metadata,
and int8 ONNX stays close; clear errors for what cannot be exported or read."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from audiofeat.exceptions import ParameterError
from gansynth_zoo.cli import main
from gansynth_zoo.config import load_config
from gansynth_zoo.evaluation.sampling import load_generator
from gansynth_zoo.export import EXPORT_FORMAT, ExportedGenerator, export_generator
from gansynth_zoo.training.run import run_training

pytest.importorskip("onnxruntime", reason="ONNX export needs the export extra")

TINY_CDCGAN = ["data.source=digits", "data.limit=200", "model.name=dcgan", "model.conditional=true",
               "model.generator.channels_base=8", "model.discriminator.channels_base=8", "train.batch_size=8",
               "train.steps=3"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_training(load_config(None, TINY_CDCGAN), out=tmp_path_factory.mktemp("runs"))


@pytest.mark.parametrize("fmt, suffix", [("onnx", "onnx"), ("torchscript", "pt")])
def test_export_reproduces_the_generator_at_any_batch_with_its_metadata(run, tmp_path, fmt, suffix):
    G, export = load_generator(run)
    assert G.c_dim == 10
    done = CliRunner().invoke(main, ["export", str(run), "--format", fmt, "--out", str(tmp_path / f"g.{suffix}")])
    assert done.exit_code == 0, done.output
    exported = ExportedGenerator(tmp_path / f"g.{suffix}", threads=1)
    for batch in (1, 5):  # traced at batch 2: the batch stays free
        z = torch.randn(batch, export["z_dim"], generator=torch.Generator().manual_seed(batch))
        c = export["conditioning"][torch.arange(batch) % 10]
        with torch.no_grad():
            expected = G(z, c).numpy()
        assert np.abs(exported(z.numpy(), c.numpy()) - expected).max() <= 1e-4
    meta = exported.metadata
    assert meta["format"] == EXPORT_FORMAT and meta["step"] == 3 and meta["z_dim"] == export["z_dim"]
    assert meta["label_names"] == [str(d) for d in range(10)] and meta["genres"] == []
    assert np.array_equal(np.array(meta["conditioning"], np.float32), export["conditioning"].numpy())
    assert meta["source"] == str(run) and meta["outputs"] == "features" and meta["sample_rate"] is None


def test_int8_onnx_is_smaller_and_close(run, tmp_path):
    G, export = load_generator(run)
    full = ExportedGenerator(export_generator(run, tmp_path / "f.onnx"))
    int8_path = export_generator(run, tmp_path / "q.onnx", quantize="int8")
    quantized = ExportedGenerator(int8_path)
    assert int8_path.stat().st_size < 0.75 * (tmp_path / "f.onnx").stat().st_size
    z = np.random.default_rng(0).standard_normal((16, export["z_dim"])).astype(np.float32)
    c = export["conditioning"][torch.arange(16) % 10].numpy()
    a, b = full(z, c), quantized(z, c)
    assert 0 < np.abs(a - b).max() < 0.1 and quantized.metadata == full.metadata


def test_what_cannot_be_exported_or_read_is_a_clear_error(run, tmp_path):
    with pytest.raises(ParameterError, match="quantize int8 is available for ONNX only"):
        export_generator(run, tmp_path / "g.pt", format="torchscript", quantize="int8")
    with pytest.raises(ParameterError, match="format must be onnx or torchscript"):
        export_generator(run, tmp_path / "g.x", format="tflite")  # type: ignore[arg-type]
    torch.jit.save(torch.jit.script(torch.nn.Identity()), str(tmp_path / "other.pt"))
    with pytest.raises(ParameterError, match="not a gansynth-zoo export"):
        ExportedGenerator(tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ParameterError, match="junk.pt: not a TorchScript file"):
        ExportedGenerator(tmp_path / "junk.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.pt", "other.pt"]  # nothing half-written left
