# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Refuse data that does not fit the model before a run starts, naming the files."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop
from mmseg.registry import HOOKS
from torch import nn

from ...datasets.mask_check import MaskCheckError, check_dataset_masks

#: The runner's loops and the config keys of their data loaders.
LOOPS = (('_train_loop', 'train_dataloader'), ('_val_loop', 'val_dataloader'),
         ('_test_loop', 'test_dataloader'))


@HOOKS.register_module()
class MaskCheckHook(Hook):
    """Check the masks of every dataset of the run against the decode head, before the run.

    At ``before_run`` (after MMEngine built the loops of ``train()``, ``val()`` or
    ``test()``, before weights are loaded or any step runs) each built loop's dataset is
    checked with :func:`~mmseg_sam.datasets.mask_check.check_dataset_masks`: readable images
    and masks, mask size equal to image size, values within the head's classes or the ignore
    index, no 0/255 masks in a 0/1 task, some foreground in the training set; and the number
    of class names in the dataset's ``metainfo`` must equal the head's ``num_classes``. The
    first problem raises an error listing every bad file; a clean check logs the label
    distribution of each dataset.

    Each mask is read once and each image's header only, so the cost is a fraction of one
    epoch.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        # One check per dataset: a runner that trains and then tests calls before_run twice.
        self._checked: set = set()

    @staticmethod
    def find_head(runner) -> Optional[nn.Module]:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        return getattr(model, 'decode_head', None)

    def before_run(self, runner) -> None:
        head = self.find_head(runner)
        if head is None or not hasattr(head, 'num_classes'):
            return
        num_classes, ignore_index = int(head.num_classes), int(head.ignore_index)
        for attribute, key in LOOPS:
            loop = getattr(runner, attribute, None)
            if not isinstance(loop, BaseLoop):
                continue  # not part of this run (MMEngine builds loops on demand)
            dataset = loop.dataloader.dataset
            if id(dataset) in self._checked:
                continue
            where = f'{key}.dataset'
            classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
            if classes is not None and len(classes) != num_classes:
                fix = (f'model.decode_head.num_classes={len(classes)} '
                       f'model.decode_head.out_channels={len(classes)}')
                if len(classes) == 2:
                    fix += ' (or a binary config: one sigmoid logit, out_channels=1)'
                raise MaskCheckError(
                    f'{where} has {len(classes)} classes {list(classes)} but '
                    f'model.decode_head.num_classes={num_classes}. Set --cfg-options {fix}')
            report = check_dataset_masks(dataset, num_classes, ignore_index, where,
                                         require_foreground=(key == 'train_dataloader'))
            shares = ', '.join(f'{label}: {share:.1%}'
                               for label, share in report.fractions().items())
            self._checked.add(id(dataset))
            runner.logger.info(f'Masks checked: {where}, {report.num_masks} mask(s) fit the head '
                               f'({num_classes} classes, ignore {ignore_index}); pixels per '
                               f'label {{{shares}}}')
