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
