# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""The logic of the analysis tools of ``tools/analysis/``, importable and tested.

* :mod:`.compare_runs`: read training/test work dirs (MMEngine's JSON outputs) into table rows
  and a data-efficiency plot;
* :mod:`.run_comparison`: plan and run train + test of configs on N labelled frames;
* :mod:`.benchmark_train_step`: seconds per training step of configs;
* :mod:`.benchmark_feature_cache`: seconds per epoch with and without the feature cache.

The modules import torch, MMEngine and MMSeg only inside the functions that need them (or,
for the benchmarks, at import), so ``import mmseg_sam`` does not import this package.
"""
