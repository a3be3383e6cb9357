"""Peak-memory estimate of one training step, measured on the meta device (no GPU, no weights).

One step of :class:`gansynth_zoo.training.loop.Trainer` is ``n_critic`` discriminator updates
(real and generated critic passes, the gradient penalty with its double backward, the critic
transform on every critic input) and one generator update. :func:`estimate_step_memory` builds G,
D, the EMA copy of G and both Adam optimisers on the meta device and runs the trainer's own
:meth:`~gansynth_zoo.training.loop.Trainer.d_step` and
:meth:`~gansynth_zoo.training.loop.Trainer.g_step` on meta tensors, so every shape is real and no
memory or arithmetic is spent. It counts:

- **static memory**, alive during the whole step once training is under way: the weights (and
  buffers) of G and D, the EMA copy of G (the trainer always keeps one, even at ``ema_decay = 0``),
  the gradients of G and D (measured after the two steps: ``zero_grad(set_to_none=True)`` frees a
  network's gradients only right before its next backward, and the G step's backward also writes
  D's gradients, so both sets stay allocated), and Adam's two moments (measured from the
  optimisers' state; the per-tensor ``step`` counters live on the CPU and are left out);
- **saved activations** of the D step and of the G step: every tensor that autograd saves for the
  backward pass (:func:`torch.autograd.graph.saved_tensors_hooks`), each storage counted once
  (views of one tensor, or a tensor saved by several ops, count once) and the weights left out.
  In the D step this is the union of the real pass, the generated pass, the gradient-penalty pass
  and the tensors its ``create_graph`` backward saves for the double backward: all of them are
  alive when ``total.backward()`` starts, which is the D step's peak. In the G step it is the
  generator's forward, the critic transform (which computes the masking threshold of the generated
  MDCT differentiably) and the critic pass;
- **a transient** per step: the largest single saved activation, standing for the gradient
  buffers that exist beside the saved tensors during the backward pass. With activation
  checkpointing (``checkpoint = true`` on G or D), a checkpointed block keeps only its input and
  recomputes the rest in the backward pass; the transient is then at least the largest block's
  recomputed saved tensors (measured by running that block alone on meta).

The peak is ``static + max(D step saved + transient, G step saved + transient)``; the ``n_critic``
D steps are identical, so one is measured.

The psychoacoustic critic transform runs on meta too: its module
(:class:`gansynth_zoo.nn.psychoacoustic.PsychoacousticNoise`) only wraps autocast-off float32 around
its :class:`audiofeat.transforms.PsychoacousticFilter`, and autocast has no meta device, so the
filter is called directly with float32 inputs (the same computation). Its Bark parameters are the
defaults (22,016 Hz, 24 bands, alpha 0.6), since a config does not name its cache's settings; they
change the threshold's values, not its memory (the Bark-band intermediates are ``24 / n_bins`` of a
critic input each).

Not counted: the generator's forward without gradients at the start of the D step (its peak, about
two consecutive activations, is below the saved sets), the batch on the device (the real batch and
its threshold, two critic-input-sized tensors), the Adam update's temporaries (which exist after
the activations are freed), the CUDA context (several hundred MiB) and the caching allocator's
rounding and fragmentation, so ``torch.cuda.max_memory_reserved`` will be higher. With activation
checkpointing the transient goes the other way: it is added to the full saved set, while the
recomputation happens after part of it has been freed.

Checked once (not in the tests) against a simulation of the allocator on meta (a dispatch mode
that follows every storage from its creation to its release, the batch included) for mp3net-95s
at batch 8, static part included: D step 60.5 GiB estimated and 61.6 GiB simulated, G step 36.3
and 35.7 GiB; with ``checkpoint = true`` on both networks, D step 41.1 and 35.1 GiB, G step 15.7
and 15.7 GiB.

Models that read tensor values in ``forward`` (GANSynth's progressive-stage buffers) cannot run on
meta, and neither can this estimate for them.

Precision. The estimate is float32, as the trainer runs on the CPU or with ``train.amp = false``.
With bfloat16 autocast (``train.amp = true`` on CUDA), parameters, gradients and Adam moments stay
float32, but convolutions and linear layers save bfloat16 copies of their inputs and of the
weights they use, and the activations between them are bfloat16: the saved activations of G and
D roughly halve. The parts the code keeps in float32 do not: G's tanh output, the whole
psychoacoustic transform (threshold and noise, float32 by design) and the critic inputs it makes,
D's score layer, and the gradient penalty's input gradient. This module does not measure the
bfloat16 case; the meta device has no autocast.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

import torch
from torch import nn

from audiofeat.exceptions import ParameterError
from gansynth_zoo import builders
from gansynth_zoo.builders import trainer_settings
from gansynth_zoo.config import RunConfig
from gansynth_zoo.data.dataset import TrainingData
from gansynth_zoo.nn.psychoacoustic import PsychoacousticNoise
from gansynth_zoo.training.loop import Trainer

__all__ = ["MemoryEstimate", "SavedTensorCounter", "estimate_step_memory", "format_memory_estimate"]

_META = torch.device("meta")


class SavedTensorCounter(contextlib.AbstractContextManager):
    """Counts the storages autograd saves for backward while the context is open.

    Each storage counts once, however many ops save it or views of it; storages of the tensors in
    ``exclude`` (the weights) are left out. The counter keeps the saved storages alive until the
    context closes, so that a freed storage's address cannot be reused by a new one and escape the
    count (free for meta tensors; on real devices it holds memory that the backward pass would
    usually keep anyway). Saved-tensor hooks nest and only the innermost ones see a tensor: inside
    a region with its own hooks (activation checkpointing), the counter sees what that region
    hands to autograd (a checkpointed block's input), not what the region keeps for itself.

    Args:
        exclude: tensors whose storages are not counted (e.g. ``model.parameters()``).

    Attributes:
        bytes: total bytes of the distinct saved storages.
        count: number of distinct saved storages.
        largest: bytes of the largest one (0 when none).
    """

    def __init__(self, exclude: Iterable[torch.Tensor] = ()):
        self._exclude = {t.untyped_storage()._cdata for t in exclude}
        self._saved: dict[int, torch.UntypedStorage] = {}
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t)
        self.bytes = self.count = self.largest = 0

    def _pack(self, tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        key = storage._cdata
        if key not in self._exclude and key not in self._saved:
            self._saved[key] = storage
            self.bytes += storage.nbytes()
            self.count += 1
            self.largest = max(self.largest, storage.nbytes())
        return tensor

    def __enter__(self) -> SavedTensorCounter:
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._hooks.__exit__(*exc)
        self._saved.clear()


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes of one training step (module docstring), float32.

    Attributes:
        batch_size: examples per step.
        n_critic: D steps per step (each measured D step is one of them).
        parameter_count: weights of G and D.
        parameters: bytes of the weights and buffers of G and D.
        ema: bytes of the EMA copy of G.
        gradients: bytes of the gradients of G and D.
        optimizer: bytes of Adam's moments for G and D.
        d_step_saved, g_step_saved: bytes of the distinct activations saved for backward.
        d_step_transient, g_step_transient: bytes added on top of them during the backward pass.
    """

    batch_size: int
    n_critic: int
    parameter_count: int
    parameters: int
    ema: int
    gradients: int
    optimizer: int
    d_step_saved: int
    d_step_transient: int
    g_step_saved: int
    g_step_transient: int

    @property
    def static(self) -> int:
        """Weights, EMA copy, gradients and optimizer state."""
        return self.parameters + self.ema + self.gradients + self.optimizer

    @property
    def total(self) -> int:
        """The peak: static memory plus the larger of the two steps' activations."""
        return self.static + max(self.d_step_saved + self.d_step_transient,
                                 self.g_step_saved + self.g_step_transient)


def _tensor_bytes(tensors: Iterable[torch.Tensor]) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def _meta_data(config: RunConfig, shape: tuple[int, ...], batch_size: int, c_dim: int) -> TrainingData:
    """A batch-sized training set on meta, with a threshold beside it for the psychoacoustic noise."""
    x = torch.empty(batch_size, *shape, device=_META)
    aux = torch.empty_like(x) if config.loss.psychoacoustic_noise else None
    labels = torch.zeros(batch_size, dtype=torch.long)
    return TrainingData(x, labels, torch.zeros(batch_size, c_dim), ("",), {}, aux)


class _MetaTrainer(Trainer):
    """The trainer's steps on meta: no autocast (fp32; autocast has no meta device)."""

    def _autocast(self):
        return contextlib.nullcontext()


def _meta_critic_transform(config: RunConfig, n_bins: int):
    """``PsychoacousticNoise`` without its autocast guard (module docstring), or ``None``."""
    if not config.loss.psychoacoustic_noise:
        return None, []
    noise = PsychoacousticNoise(n_bins=n_bins).to(_META)
    model = noise.model

    def transform(x: torch.Tensor, aux: torch.Tensor | None) -> torch.Tensor:
        return model(x.float(), None if aux is None else aux.float())

    return transform, list(noise.buffers())


def _checkpointed_blocks(model: nn.Module) -> list[nn.Module]:
    """The blocks a model recomputes in the backward pass (``checkpoint = True`` and ``blocks``)."""
    if getattr(model, "checkpoint", False):
        blocks = getattr(model, "blocks", None)
        if isinstance(blocks, nn.ModuleList):
            return list(blocks)
    return []


@contextlib.contextmanager
def _block_inputs(models: Iterable[nn.Module]) -> Iterator[dict[nn.Module, torch.Size]]:
    """Records the input shape of every checkpointed block while open."""
    shapes: dict[nn.Module, torch.Size] = {}

    def record(module: nn.Module, args: tuple) -> None:
        shapes.setdefault(module, args[0].shape)

    handles = [block.register_forward_pre_hook(record)
               for model in models for block in _checkpointed_blocks(model)]
    try:
        yield shapes
    finally:
        for handle in handles:
            handle.remove()


def _recompute_bytes(shapes: dict[nn.Module, torch.Size], weights: list[torch.Tensor]) -> int:
    """The largest saved set of one checkpointed block run alone (its recomputation in backward)."""
    largest = 0
    for block, shape in shapes.items():
        x = torch.empty(shape, device=_META, requires_grad=True)
        with SavedTensorCounter(exclude=[*weights, x]) as saved:
            block(x)
        largest = max(largest, saved.bytes)
    return largest


def estimate_step_memory(config: RunConfig, batch_size: int | None = None, *,
                         c_dim: int = 0) -> MemoryEstimate:
    """Estimates the peak memory of one training step of ``config`` (module docstring).

    Args:
        config: a run config with ``data.shape`` set (as ``gansynth-zoo summary`` needs).
        batch_size: examples per step (default ``config.train.batch_size``).
        c_dim: conditioning size of conditional models (in training the data decide it).

    Returns:
        A :class:`MemoryEstimate` in bytes, float32.

    Raises:
        ValueError: the config has no ``data.shape`` or a non-positive batch size.
    """
    shape = tuple(config.data.shape)
    if not shape:
        raise ParameterError("the config has no data.shape; set it (e.g. --set \"data.shape=[2, 128, 256]\")")
    batch_size = config.train.batch_size if batch_size is None else batch_size
    if batch_size < 1:
        raise ParameterError(f"batch_size must be positive, got {batch_size}")
    c_dim = c_dim if config.model.conditional else 0
    config = replace(config, train=replace(config.train, batch_size=batch_size))  # the trainer's batches
    data = _meta_data(config, shape, batch_size, c_dim)
    with torch.device(_META):
        G, D, info = builders.build_models(config, shape, c_dim)
    state = builders.state_for_models(config, G, D, info)
    transform, transform_buffers = _meta_critic_transform(config, shape[1])
    trainer = _MetaTrainer(trainer_settings(config), state, data, ".", _META, critic_transform=transform)
    weights = [*G.parameters(), *G.buffers(), *D.parameters(), *D.buffers(), *transform_buffers]
    G.train()
    D.train()
    steps = {}
    for name, step in (("d", trainer.d_step), ("g", trainer.g_step)):
        with _block_inputs((G, D)) as shapes, SavedTensorCounter(exclude=weights) as saved:
            step()
        steps[name] = (saved.bytes, max(saved.largest, _recompute_bytes(shapes, weights)))
    moments = [t for opt in (state.opt_g, state.opt_d) for s in opt.state.values()
               for t in s.values() if isinstance(t, torch.Tensor) and t.device == _META]
    return MemoryEstimate(
        batch_size=batch_size, n_critic=config.loss.n_critic,
        parameter_count=sum(p.numel() for p in (*G.parameters(), *D.parameters())),
        parameters=_tensor_bytes([*G.parameters(), *G.buffers(), *D.parameters(), *D.buffers()]),
        ema=_tensor_bytes([*state.G_ema.parameters(), *state.G_ema.buffers()]),
        gradients=_tensor_bytes(p.grad for p in (*G.parameters(), *D.parameters()) if p.grad is not None),
        optimizer=_tensor_bytes(moments),
        d_step_saved=steps["d"][0], d_step_transient=steps["d"][1],
        g_step_saved=steps["g"][0], g_step_transient=steps["g"][1])


def format_memory_estimate(title: str, estimate: MemoryEstimate) -> str:
    """The estimate as aligned text, one part per line, in GiB (2^30 bytes) or, below 1 GiB in all, MiB."""
    e = estimate
    unit, scale, digits = ("GiB", 2 ** 30, 3) if e.total >= 2 ** 30 else ("MiB", 2 ** 20, 1)
    rows = [
        (f"parameters ({e.parameter_count:,} in G and D)", e.parameters),
        ("EMA copy of G", e.ema),
        ("gradients of G and D", e.gradients),
        ("optimizer (Adam's two moments)", e.optimizer),
        (f"D step: activations saved for backward (one of {e.n_critic})", e.d_step_saved),
        ("D step: transient (largest activation or recomputed block)", e.d_step_transient),
        ("G step: activations saved for backward", e.g_step_saved),
        ("G step: transient (largest activation or recomputed block)", e.g_step_transient),
    ]
    d_peak = e.d_step_saved + e.d_step_transient >= e.g_step_saved + e.g_step_transient
    rows.append((f"total (static + {'D' if d_peak else 'G'} step)", e.total))
    width = max(len(label) for label, _ in rows)
    lines = [f"{title}: peak memory of one training step at batch {e.batch_size} "
             "(float32, meta-device estimate)"]
    lines += [f"  {label:<{width}}  {n / scale:>12,.{digits}f} {unit}" for label, n in rows]
    return "\n".join(lines)
