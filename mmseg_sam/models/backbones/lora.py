# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Low-rank adaptation (LoRA) of the attention projections of SAM's ViT and MobileSAM's TinyViT.

LoRA (Hu et al., 2021, https://arxiv.org/abs/2106.09685) keeps a pretrained linear layer
``y = W x + b`` frozen and learns a low-rank update ``y = W x + b + (alpha / r) B A x`` with
``A`` (r, in) and ``B`` (out, r). ``B`` starts at zero, so an adapted encoder starts exactly
equal to the pretrained one. SAMed (Zhang and Liu, 2023, https://arxiv.org/abs/2304.13785)
adapts only the q and v parts of each block's fused ``qkv`` projection of SAM ViT-B.

Targets: ``'q'``, ``'k'``, ``'v'`` (slices of the output of the block's fused ``qkv`` Linear,
each with its own ``A`` and ``B``) and ``'proj'`` (the attention's output projection, whole).
The two encoders order the ``qkv`` output differently, which :func:`qkv_output_slices`
encodes: SAM ViT as ``[q of all heads | k | v]``, TinyViT per head ``[q | k | v]``.

:func:`apply_lora` replaces the ``qkv`` / ``proj`` modules of the chosen attention blocks by
:class:`LoRALinear` objects that hold the original ``nn.Linear`` as ``base``. Any attention
forward that calls ``self.qkv(x)`` and ``self.proj(x)`` as modules (segment_anything's, ours in
``tiny_vit.py``, an SDPA variant) runs the adapted projections unchanged.
"""
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

#: The projections LoRA can adapt, in the order of their parameters.
LORA_TARGETS = ('q', 'k', 'v', 'proj')

#: Substring of every LoRA parameter name (``...qkv.lora_A.q``, ``...proj.lora_B.proj``).
LORA_PARAMETER_MARK = '.lora_'


@dataclass(frozen=True)
class LoRAConfig:
    """Checked settings of ``SAMFrozenBackbone(lora=dict(...))``.

    Attributes:
        rank: rank r of every update.
        alpha: scale numerator; the update is multiplied by ``alpha / rank``.
        targets: subset of :data:`LORA_TARGETS`, in that order.
        blocks: indices of the adapted attention blocks (all when None); for TinyViT they
            count its attention blocks over all stages, from 0.
    """

    rank: int = 4
    alpha: float = 4.0
    targets: Tuple[str, ...] = ('q', 'v')
    blocks: Optional[Tuple[int, ...]] = None

    @property
    def scale(self) -> float:
        return self.alpha / self.rank


def parse_lora_config(cfg: Any) -> Optional[LoRAConfig]:
    """Turn ``lora`` (None, False, True or a dict) into a :class:`LoRAConfig`, or None for off.

    Raises:
        ValueError / TypeError: an unknown key, a rank that is not a positive int, a
            non-positive alpha, unknown or no targets; the message names the option.
    """
    if cfg is None or cfg is False:
        return None
    if cfg is True:
        cfg = {}
    if not isinstance(cfg, dict):
        raise TypeError(f'model.backbone.lora must be None or a dict such as '
                        f"dict(rank=4, alpha=4, targets=('q', 'v')), got {cfg!r}")
    unknown = sorted(set(cfg) - {'rank', 'alpha', 'targets', 'blocks'})
    if unknown:
        raise ValueError(f'model.backbone.lora has unknown keys {unknown}; expected rank, '
                         f'alpha, targets, blocks')
    rank = cfg.get('rank', 4)
    if not isinstance(rank, int) or isinstance(rank, bool) or rank <= 0:
        raise ValueError(f'model.backbone.lora.rank={rank!r} must be a positive int')
    alpha = cfg.get('alpha', rank)  # alpha = rank: scale 1, as SAMed
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha <= 0:
        raise ValueError(f'model.backbone.lora.alpha={alpha!r} must be a positive number')
    targets = cfg.get('targets', ('q', 'v'))
    targets = (targets,) if isinstance(targets, str) else tuple(targets)
    wrong = [t for t in targets if t not in LORA_TARGETS]
    if wrong or not targets:
        raise ValueError(f'model.backbone.lora.targets={targets!r}: expected a non-empty '
                         f'subset of {LORA_TARGETS}')
    blocks = cfg.get('blocks')
    if blocks is not None:
        blocks = tuple(sorted({int(b) for b in blocks}))
        if not blocks:
            raise ValueError('model.backbone.lora.blocks=[] adapts nothing; use None for all '
                             'blocks or lora=None for no LoRA')
    return LoRAConfig(rank, float(alpha), tuple(t for t in LORA_TARGETS if t in targets),
                      blocks)


class LoRALinear(nn.Module):
    """A frozen ``nn.Linear`` plus low-rank updates of chosen slices of its output.

    ``forward(x) = base(x) + scale * B A x``, where each group (e.g. 'q' and 'v' of a fused
    qkv projection) has its own ``A`` (r, in) and ``B`` (n_group, r) and updates only its own
    output features. The groups' updates are computed as one product with a block-diagonal
    ``B`` re-ordered to the output features, so the cost is two thin matrix products.

    Args:
        base: the pretrained projection; kept as ``self.base`` and frozen.
        rank: r.
        alpha: the update is scaled by ``alpha / rank``.
        groups: name -> output feature indices (sorted, disjoint). Features of no group
            keep the base output.

    Shape: ``(..., in_features) -> (..., out_features)``.
    """

    def __init__(self, base: nn.Linear, rank: int, alpha: float,
                 groups: Dict[str, Sequence[int]]) -> None:
        super().__init__()
        self.base = base.requires_grad_(False)
        self.in_features, self.out_features = base.in_features, base.out_features
        self.rank, self.alpha, self.scale = rank, alpha, alpha / rank
        indices = {name: torch.as_tensor(list(rows), dtype=torch.long)
                   for name, rows in groups.items()}
        touched = torch.cat(list(indices.values()))
        if touched.unique().numel() != touched.numel() or (
                touched.numel() and not 0 <= int(touched.min()) <= int(touched.max())
                < self.out_features):
            raise ValueError(f'LoRA groups of a Linear with {self.out_features} outputs must '
                             f'be disjoint and in range')
        factory = dict(device=base.weight.device, dtype=base.weight.dtype)
        self.lora_A = nn.ParameterDict({
            name: nn.Parameter(torch.empty(rank, self.in_features, **factory))
            for name in indices})
        self.lora_B = nn.ParameterDict({
            name: nn.Parameter(torch.zeros(len(rows), rank, **factory))
            for name, rows in indices.items()})
        self.reset_lora_parameters()
        # Row order of the stacked B blocks (then zero rows for untouched features) ->
        # output order: ``placement[j]`` is the stacked row of output feature j.
        is_touched = torch.zeros(self.out_features, dtype=torch.bool)
        is_touched[touched] = True
        untouched = torch.nonzero(~is_touched).flatten()
        self.num_untouched = int(untouched.numel())
        stacked_order = torch.cat([touched, untouched])
        placement = torch.argsort(stacked_order)
        self.reorders = not torch.equal(placement, torch.arange(self.out_features))
        # Derived from the groups, so not part of the checkpoint.
        self.register_buffer('placement', placement, persistent=False)

    def reset_lora_parameters(self) -> None:
        """``A`` as nn.Linear's default weight init (Kaiming-uniform), ``B`` zero."""
        for weight in self.lora_A.values():
            nn.init.kaiming_uniform_(weight, a=5 ** 0.5)
        for weight in self.lora_B.values():
            nn.init.zeros_(weight)

    def delta_weight(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """The update as two factors: ``(A_all (G*r, in), B_all (out, G*r))``.

        ``B_all`` holds group g's ``B`` in columns ``g*r:(g+1)*r`` of its output rows and
        zeros elsewhere, so ``B_all @ A_all`` is the full (out, in) update before scaling.
        """
        names = list(self.lora_A)
        count, rank = len(names), self.rank
        a_all = torch.cat([self.lora_A[name] for name in names])
        blocks = [F.pad(self.lora_B[name], (g * rank, (count - 1 - g) * rank))
                  for g, name in enumerate(names)]
        if self.num_untouched:
            blocks.append(a_all.new_zeros(self.num_untouched, count * rank))
        b_all = torch.cat(blocks)
        if self.reorders:
            b_all = b_all[self.placement]
        return a_all, b_all

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a_all, b_all = self.delta_weight()
        update = F.linear(F.linear(x, a_all.to(x.dtype)), b_all.to(x.dtype))
        return self.base(x) + update * self.scale

    def extra_repr(self) -> str:
        groups = ', '.join(f'{name}:{w.shape[0]}' for name, w in self.lora_B.items())
        return f'rank={self.rank}, alpha={self.alpha:g}, groups=({groups})'


def attention_modules(encoder: nn.Module, family: str) -> List[nn.Module]:
    """The attention modules of an encoder, in forward order (they own ``qkv`` and ``proj``).

    Args:
        family: 'vit' (segment_anything's ``ImageEncoderViT``: ``blocks[i].attn``) or
            'tiny_vit' (our ``TinyViT``: ``layers[1:]`` stages' ``blocks[i].attn``; the
            first stage is convolutional).
    """
    if family == 'vit':
        return [block.attn for block in encoder.blocks]
    if family == 'tiny_vit':
        return [block.attn for stage in list(encoder.layers)[1:] for block in stage.blocks]
    raise ValueError(f'LoRA: unknown encoder family {family!r}')


def qkv_output_slices(family: str, dim: int, num_heads: int) -> Dict[str, List[int]]:
    """Output features of the fused qkv Linear (3*dim outputs) that belong to q, k and v.

    SAM ViT reshapes the qkv output to (..., 3, heads, head_dim): q is ``[0, dim)``.
    TinyViT reshapes it to (..., heads, 3, head_dim): per head h, q is
    ``[3*h*head_dim, 3*h*head_dim + head_dim)``, k and v follow.
    """
    head_dim = dim // num_heads
    slices: Dict[str, List[int]] = {}
    for part, name in enumerate(('q', 'k', 'v')):
        if family == 'vit':
            slices[name] = list(range(part * dim, (part + 1) * dim))
        else:
            slices[name] = [3 * h * head_dim + part * head_dim + i
                            for h in range(num_heads) for i in range(head_dim)]
    return slices


def apply_lora(encoder: nn.Module, family: str, config: LoRAConfig) -> str:
    """Wrap the chosen projections of ``encoder`` in :class:`LoRALinear`, in place.

    Returns:
        a one-line description for logs, e.g. 'LoRA rank 4 (alpha 4) on q, v of 12 of 12
        attention blocks (147,456 parameters)'.

    Raises:
        ValueError: a block index outside the encoder's attention blocks.
    """
    attentions = attention_modules(encoder, family)
    blocks = config.blocks if config.blocks is not None else tuple(range(len(attentions)))
    if any(not 0 <= b < len(attentions) for b in blocks):
        raise ValueError(f'model.backbone.lora.blocks={blocks} must lie in '
                         f'[0, {len(attentions)}): the attention blocks of this encoder')
    qkv_targets = [t for t in config.targets if t in ('q', 'k', 'v')]
    for index in blocks:
        attention = attentions[index]
        if qkv_targets:
            qkv = attention.qkv
            slices = qkv_output_slices(family, qkv.in_features, attention.num_heads)
            attention.qkv = LoRALinear(qkv, config.rank, config.alpha,
                                       {t: slices[t] for t in qkv_targets})
        if 'proj' in config.targets:
            proj = attention.proj
            attention.proj = LoRALinear(proj, config.rank, config.alpha,
                                        {'proj': range(proj.out_features)})
    count = sum(p.numel() for p in lora_parameters(encoder))
    return (f'LoRA rank {config.rank} (alpha {config.alpha:g}) on {", ".join(config.targets)} '
            f'of {len(blocks)} of {len(attentions)} attention blocks ({count:,} parameters)')


def lora_modules(module: nn.Module) -> Iterator[Tuple[str, LoRALinear]]:
    """``(name, LoRALinear)`` for every adapted projection inside ``module``."""
    for name, child in module.named_modules():
        if isinstance(child, LoRALinear):
            yield name, child


def lora_parameters(module: nn.Module) -> Iterator[nn.Parameter]:
    """The low-rank factors (``lora_A``, ``lora_B``) inside ``module``."""
    for _, lora in lora_modules(module):
        yield from lora.lora_A.values()
        yield from lora.lora_B.values()


def is_lora_parameter_name(name: str) -> bool:
    """Whether a parameter / state-dict name is a LoRA factor."""
    return LORA_PARAMETER_MARK in f'.{name}'


@contextmanager
def without_lora(module: nn.Module) -> Iterator[nn.Module]:
    """Temporarily put the base ``nn.Linear`` objects back in place of the LoRA wrappers.

    Inside, ``module`` has exactly the structure (and state-dict keys) of the pretrained
    encoder, so an official checkpoint loads into it with every key checked; the base
    layers are the same objects, so the loaded values stay when the wrappers come back.
    """
    swapped = []
    for name, lora in list(lora_modules(module)):
        parent_name, _, attribute = name.rpartition('.')
        parent = module.get_submodule(parent_name) if parent_name else module
        setattr(parent, attribute, lora.base)
        swapped.append((parent, attribute, lora))
    try:
        yield module
    finally:
        for parent, attribute, lora in swapped:
            setattr(parent, attribute, lora)


__all__ = ['LORA_TARGETS', 'LoRAConfig', 'LoRALinear', 'apply_lora', 'attention_modules',
           'is_lora_parameter_name', 'lora_modules', 'lora_parameters', 'parse_lora_config',
           'qkv_output_slices', 'without_lora']
