# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""When the frozen-feature cache is worth having: the one place that decides it.

``SAMFrozenBackbone(feature_cache=dict(enabled=...))`` takes ``'auto'`` (the default), ``True``
or ``False``. The cache is keyed by the exact input tensor, so no pipeline can make it serve
wrong features; the only question is whether inputs repeat across epochs, i.e. whether the
cache saves encoder time or only costs memory. :func:`decide_feature_cache` answers it from
the training dataset config (the model itself never sees the pipeline):

* ``'auto'``: on when the training pipeline is deterministic or has finitely many variants
  per image (``RandomFlip`` with a fixed ``prob``: each flip is its own entry, since keys hash
  the input); off when a transform has unboundedly many variants (``RandomResize``,
  ``RandomCrop``, ``PhotoMetricDistortion``, any other ``Random*``, batch augments).
* ``True``: on whatever the pipeline (an unbounded one is reported, not overridden).
* ``False``: off.

A trunk that trains (LoRA adapters, ``SAMFrozenBackbone(lora=...)``) changes its outputs with
every step, and its outputs must keep their autograd history, so no cache can serve it:
'auto' means off (:func:`switch_off_cache_for_trainable_trunk`, at model build), True is an
error.

``FrozenFeatureCacheHook`` calls it before training, applies the answer to ``'auto'`` and logs
the decision with the transforms named; nothing else flips the cache.
"""
from dataclasses import dataclass
from numbers import Real
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

EnabledSetting = Union[str, bool]

#: Transforms that draw random numbers although their name does not say 'Random'.
RANDOM_TRANSFORMS_WITHOUT_RANDOM_IN_NAME = frozenset({
    'PhotoMetricDistortion', 'BioMedicalGaussianNoise', 'BioMedicalGaussianBlur',
    'BioMedicalRandomGamma', 'Albu',
})


def _is_number_or_numbers(value: Any) -> bool:
    values = value if isinstance(value, (list, tuple)) else [value]
    return all(isinstance(v, Real) and not isinstance(v, bool) for v in values)


def _is_name_or_names(value: Any) -> bool:
    values = value if isinstance(value, (list, tuple)) else [value]
    return all(isinstance(v, str) for v in values)


def _flip_is_finite(transform: dict) -> bool:
    # mmcv's RandomFlip: one of len(direction) flips or none, drawn with fixed probabilities.
    prob = transform.get('prob')
    return ((prob is None or _is_number_or_numbers(prob))
            and _is_name_or_names(transform.get('direction', 'horizontal')))


#: Random transforms with finitely many outputs per input, and the test that their
#: arguments keep them so. ``RandomChoice`` / ``RandomApply`` only pick among (or skip)
#: their sub-transforms, which are checked on their own; ``RandomChoiceResize`` picks one
#: of a list of scales.
FINITE_RANDOM_TRANSFORMS: Dict[str, Callable[[dict], bool]] = {
    'RandomFlip': _flip_is_finite,
    'RandomChoice': lambda transform: True,
    'RandomApply': lambda transform: True,
    'RandomChoiceResize': lambda transform: isinstance(transform.get('scales'), (list, tuple)),
}


def iter_transforms(node: Any, in_pipeline: bool = False) -> Iterator[dict]:
    """Yield every transform dict inside ``pipeline``/``transforms`` lists of a config.

    Lists may nest (``RandomChoice`` takes a list of pipelines); dicts outside such lists
    (datasets, wrappers) are searched but are not transforms themselves.
    """
    if isinstance(node, dict):
        if in_pipeline and isinstance(node.get('type'), str):
            yield node
        for key, value in node.items():
            yield from iter_transforms(value, key in ('pipeline', 'transforms'))
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from iter_transforms(item, in_pipeline)


def iter_transform_types(node: Any, in_pipeline: bool = False) -> Iterator[str]:
    """Yield the ``type`` of every transform of :func:`iter_transforms`."""
    for transform in iter_transforms(node, in_pipeline):
        yield transform['type']


def _is_random(name: str, extra_random_types: Sequence[str]) -> bool:
    return ('Random' in name or name in RANDOM_TRANSFORMS_WITHOUT_RANDOM_IN_NAME
            or name in extra_random_types)


def find_random_transforms(dataset_cfg: Any, extra_random_types: Sequence[str] = ()) -> List[str]:
    """Names of the transforms in a dataset config that make its output random."""
    return [name for name in iter_transform_types(dataset_cfg)
            if _is_random(name, extra_random_types)]


def _describe(transform: dict) -> str:
    """``RandomFlip(prob=0.5)``: the type and the arguments that decide its variants."""
    name = transform['type']
    if name == 'RandomFlip':
        return f"RandomFlip(prob={transform.get('prob')})"
    return name


@dataclass(frozen=True)
class FeatureCacheDecision:
    """Outcome of :func:`decide_feature_cache`.

    Attributes:
        setting: the configured ``enabled`` ('auto', True or False).
        enabled: whether the cache is used in training.
        unbounded: random transforms with unboundedly many variants (each input is new).
        finite: random transforms with finitely many variants (each one an entry).
        trainable_trunk: what trains inside the trunk (e.g. the LoRA description), or None.
    """

    setting: EnabledSetting
    enabled: bool
    unbounded: Tuple[str, ...] = ()
    finite: Tuple[str, ...] = ()
    trainable_trunk: Optional[str] = None

    @property
    def reason(self) -> str:
        """Why the pipeline does or does not repeat inputs, naming the transforms."""
        if self.trainable_trunk:
            return trainable_trunk_reason(self.trainable_trunk)
        if self.unbounded:
            return (f'the training pipeline has random transforms with unboundedly many '
                    f'variants ({", ".join(self.unbounded)}), so inputs do not repeat across '
                    f'epochs')
        if self.finite:
            return (f'the training pipeline has only finitely many variants per image '
                    f'({", ".join(self.finite)}; each variant is its own entry)')
        return 'the training pipeline is deterministic'


def check_enabled_setting(setting: Any) -> EnabledSetting:
    """Return ``setting`` if it is 'auto', True or False, else raise a ValueError."""
    if setting == 'auto' or setting is True or setting is False:
        return setting
    raise ValueError(f"feature_cache enabled={setting!r}; expected 'auto' (on unless the "
                     f"training pipeline is random without bound), True or False")


def trainable_trunk_reason(description: str) -> str:
    """Why a trunk that trains cannot be cached, for logs and errors."""
    return (f'the trunk trains ({description}), so its outputs change with every step and '
            f'must keep their gradients')


def switch_off_cache_for_trainable_trunk(cache: Any, description: str) -> None:
    """Turn a feature cache off for a trunk that trains; refuse ``enabled=True``.

    Args:
        cache: a :class:`~.frozen_feature_cache.FrozenFeatureCache` (``setting``,
            ``enabled``).
        description: what trains, e.g. 'LoRA rank 4 (alpha 4) on q, v of 12 of 12 attention
            blocks (...)'.

    Raises:
        ValueError: for ``enabled=True``, naming the option and the fix.
    """
    if cache.setting is True:
        raise ValueError(f'model.backbone.feature_cache.enabled=True cannot be used with '
                         f'model.backbone.lora: {trainable_trunk_reason(description)}. Set '
                         f"feature_cache.enabled='auto' (turned off with LoRA) or False.")
    cache.enabled = False


def decide_feature_cache(setting: EnabledSetting, dataset_cfg: Any,
                         extra_random_types: Sequence[str] = (),
                         batch_augments: Optional[Any] = None,
                         trainable_trunk: Optional[str] = None) -> FeatureCacheDecision:
    """Decide whether the frozen-feature cache is used for a training set.

    Args:
        setting: the cache's configured ``enabled``: 'auto', True or False. An explicit
            True/False is kept as it is; only 'auto' depends on the pipeline.
        dataset_cfg: the training dataset config (``train_dataloader.dataset``); every
            ``pipeline``/``transforms`` list in it is searched, wrappers included.
        extra_random_types: names of custom transforms that are random (without bound)
            although their name does not contain 'Random'.
        batch_augments: the data preprocessor's ``batch_augments``; any makes inputs new.
        trainable_trunk: what trains inside the trunk (the backbone's
            ``lora_description``), or None for a frozen trunk. Given, the answer is off
            (and ``enabled=True`` an error).

    Returns:
        a :class:`FeatureCacheDecision`.
    """
    setting = check_enabled_setting(setting)
    extra = set(extra_random_types)
    unbounded: List[str] = []
    finite: List[str] = []
    for transform in iter_transforms(dataset_cfg):
        name = transform['type']
        if not _is_random(name, extra):
            continue
        is_finite = FINITE_RANDOM_TRANSFORMS.get(name)
        if is_finite is not None and name not in extra and is_finite(transform):
            finite.append(_describe(transform))
        else:
            unbounded.append(_describe(transform))
    if batch_augments:
        unbounded.append('data_preprocessor.batch_augments')
    enabled = not unbounded if setting == 'auto' else setting
    if trainable_trunk:
        if setting is True:
            raise ValueError(f'feature_cache enabled=True cannot be used: '
                             f'{trainable_trunk_reason(trainable_trunk)}')
        enabled = False
    return FeatureCacheDecision(setting, bool(enabled), tuple(dict.fromkeys(unbounded)),
                                tuple(dict.fromkeys(finite)), trainable_trunk)
