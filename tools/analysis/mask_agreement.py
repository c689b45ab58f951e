# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Share of pixels on which two folders of predicted masks agree, per image and over all.

    python tools/analysis/mask_agreement.py REFERENCE_DIR OTHER_DIR [--min-agreement 99.9]

Typical use: is a faster setting exact enough for a trained model? Predict the same test set
twice with ``tools/test.py CONFIG CHECKPOINT --out DIR``, e.g. once with ``--cfg-options
model.backbone.trunk_precision=fp32`` and once with ``=bf16``, then compare the two folders.
With ``--min-agreement`` (in %) the tool exits with status 1 when the overall agreement is
lower, so a script can gate on it.
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional

from mmseg_sam.analysis.mask_agreement import mask_agreement, render_report


def main(argv: Optional[List[str]] = None) -> List[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('reference', type=Path, help='folder of reference masks')
    parser.add_argument('other', type=Path, help='folder of masks with the same file names')
    parser.add_argument('--min-agreement', type=float, metavar='PERCENT',
                        help='exit with status 1 below this overall agreement')
    args = parser.parse_args(argv)
    if args.min_agreement is not None and not 0 <= args.min_agreement <= 100:
        parser.error(f'--min-agreement is a percentage in [0, 100], got {args.min_agreement}')
    rows = mask_agreement(args.reference, args.other)
    print(render_report(rows))
    overall = 100 * rows[-1]['agreement']
    if args.min_agreement is not None and overall < args.min_agreement:
        print(f'agreement {overall:.3f}% is below --min-agreement {args.min_agreement}%')
        sys.exit(1)
    return rows


if __name__ == '__main__':
    main()
