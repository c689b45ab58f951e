# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Compare training runs: a markdown table and a data-efficiency plot.

    python tools/analysis/compare_runs.py WORK_DIR [WORK_DIR ...]
        [--metric per_image_fg_iou|fg_iou|mIoU] [--plot PNG | --no-plot] [--json FILE]
        [--no-params]

A WORK_DIR is a folder written by ``tools/train.py`` (``--work-dir``): the dumped config
``<config name>.py``, the checkpoints, ``last_checkpoint`` and one ``<YYYYMMDD_HHMMSS>/``
folder per session. Test metrics come from ``tools/test.py`` sessions in the same folder
(``tools/test.py``'s default work dir for a config is the training one) or in a folder below
it (e.g. ``tools/test.py ... --work-dir WORK_DIR/test``); the newest test session counts.
Without one, the last validation of the training is reported instead (column "from"). A
folder that is no run but holds runs (``work_dirs/``) is expanded to them.

Where each number comes from:

* params: the model built from the run's saved config, without loading any weights
  (``init_weights`` is never called); trainable = ``requires_grad`` parameters.
* pretrained weights: the file name of ``model.pretrained`` or of the backbone's
  ``init_cfg`` checkpoint in the saved config; "none" when the model starts from random
  weights (e.g. a baseline trained with ``model.pretrained=None model.backbone.init_cfg=None``).
* labelled images: ``train_dataloader.dataset.size`` of a ``SeededSubsetDataset`` when it is
  an int, else the length of the training set built from the config (needs the data).
* subset seed: the ``seed`` of that ``SeededSubsetDataset`` (which images were drawn); n/a
  for other training sets.
* iterations: the highest training iteration logged or checkpointed.
* train time: the sum over logged training iterations of MMEngine's ``time`` (seconds per
  iteration, averaged over the logging window) times the iterations since the previous
  logged one, so validation and checkpointing are left out. Exact when the logging
  interval equals the log processor's window (both 10 in our configs).
* peak memory: the largest ``memory`` MMEngine logged during training (``torch.cuda``
  max allocated, MB); n/a for CPU runs.
* mIoU and per-image IoU: MMSeg's ``IoUMetric`` and our ``PerImageIoUMetric``.
* foreground IoU: the dataset-level IoU of the foreground class (``foreground_index`` of the
  config's ``PerImageIoUMetric``) from the per-class table ``IoUMetric`` writes to the log
  (the only number that is in no JSON output).

The plot draws ``--metric`` against the number of labelled images, one line per config,
from runs of the same config on training subsets of different sizes (runs with equal sizes,
e.g. other seeds, are averaged and also drawn as points).

The numbers are read from MMEngine's JSON outputs (``<timestamp>/vis_data/scalars.json``, the
test dump ``<timestamp>/<timestamp>.json``, the dumped config); the logic and the list of the
files read are in :mod:`mmseg_sam.analysis.compare_runs`.
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional

from mmseg_sam.analysis.compare_runs import (
    METRICS,
    NotARunError,
    Row,
    compare,
    markdown_table,
    plot_data_efficiency,
    write_rows_json,
)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Markdown table and data-efficiency plot of tools/train.py work dirs')
    parser.add_argument('work_dirs', nargs='+', type=Path,
                        help='training work dirs, or folders holding them')
    parser.add_argument('--metric', choices=sorted(METRICS), default='per_image_fg_iou',
                        help='metric of the plot (default: per_image_fg_iou)')
    parser.add_argument('--plot', type=Path, default=Path('data_efficiency.png'),
                        help='PNG to write (default: ./data_efficiency.png)')
    parser.add_argument('--no-plot', action='store_true', help='write no plot')
    parser.add_argument('--json', type=Path, help='also write the rows as JSON')
    parser.add_argument('--no-params', action='store_true',
                        help='skip building the models to count parameters')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> List[Row]:
    args = parse_args(argv)
    import mmseg_sam  # noqa: F401  (our models, datasets and metrics for the saved configs)
    rows = compare(args.work_dirs, with_params=not args.no_params)
    print(markdown_table(rows))
    for row in rows:
        for note in row.notes:
            print(f'note: {row.work_dir}: {note}', file=sys.stderr)
    if args.json:
        write_rows_json(rows, args.json)
    if not args.no_plot:
        written = plot_data_efficiency(rows, args.metric, args.plot)
        if written is None:
            print(f'note: no run has both labelled images and {args.metric}; no plot',
                  file=sys.stderr)
        else:
            print(f'\nplot: {written}')
    return rows


if __name__ == '__main__':
    try:
        main()
    except NotARunError as error:  # a usage error: the message, not a traceback
        sys.exit(f'error: {error}')
