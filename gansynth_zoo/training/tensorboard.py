"""An optional TensorBoard copy of a run's log (``train.tensorboard = true``; the ``tensorboard`` extra).

``metrics.jsonl`` and the snapshot folders stay the record; this writes the same things as TensorBoard
events under ``RUN/tensorboard/``, with the same names as tags:

- every ``metrics.jsonl`` record's numbers as scalars (``loss/d_adv``, ``sec_per_step``, ...);
- every snapshot's PNGs as images (``snapshot/spectrograms``, ``snapshot/grid``) and its WAVs as
  audio (``snapshot/drums-kick``), at the snapshot's step.

A resumed run purges the events an interrupted run wrote after its last checkpoint, as it drops
those records from ``metrics.jsonl``. View with ``tensorboard --logdir RUN/tensorboard``.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from audiofeat.exceptions import ConfigError
from audiofeat.io import load_audio

__all__ = ["TensorBoardLog"]


class TensorBoardLog:
    """Writes a run's records and snapshots as TensorBoard events.

    Args:
        log_dir: the event folder (``RUN/tensorboard``).
        resumed_at: the step a resumed run continues from (0 for a new run); events of later steps
            already in ``log_dir`` are hidden.

    Raises:
        ConfigError: the ``tensorboard`` package is not installed.
    """

    def __init__(self, log_dir: str | Path, *, resumed_at: int = 0):
        try:
            from torch.utils.tensorboard import SummaryWriter  # needs the optional tensorboard package
        except ImportError as error:
            raise ConfigError("train.tensorboard needs the tensorboard package: pip install "
                              "'gansynth-zoo[tensorboard]' (or set train.tensorboard = false)") from error
        self.writer = SummaryWriter(str(log_dir), purge_step=resumed_at + 1 if resumed_at else None)

    def scalars(self, record: dict[str, Any]) -> None:
        """The numbers of one ``metrics.jsonl`` record, at its ``step``."""
        step = record["step"]
        for tag, value in record.items():
            if tag != "step" and isinstance(value, int | float):
                self.writer.add_scalar(tag, value, step)

    def snapshot(self, folder: str | Path, step: int) -> None:
        """The PNGs (as they are, without decoding) and WAVs of one snapshot folder."""
        from tensorboard.compat.proto.summary_pb2 import Summary

        for png in sorted(Path(folder).glob("*.png")):
            encoded = png.read_bytes()
            width, height = struct.unpack(">II", encoded[16:24])  # the IHDR chunk, then its colour type
            channels = {0: 1, 2: 3, 4: 2, 6: 4}[encoded[25]]
            image = Summary.Image(height=height, width=width, colorspace=channels, encoded_image_string=encoded)
            # add_image would decode and re-encode the PNG; its file writer takes the bytes as they are
            self.writer._get_file_writer().add_summary(
                Summary(value=[Summary.Value(tag=f"snapshot/{png.stem}", image=image)]), step)
        for wav in sorted(Path(folder).glob("*.wav")):
            audio, rate = load_audio(wav)  # mono
            self.writer.add_audio(f"snapshot/{wav.stem}", audio[0], step, sample_rate=rate)

    def close(self) -> None:
        self.writer.close()
