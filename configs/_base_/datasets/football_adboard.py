# Binary adboard masks of the Acme AI football dataset (1920 x 1080 broadcast frames),
# converted by tools/dataset_converters/football.py into data/football_adboard.
# Frames are resized to 1024 x 576: the full width SAM was trained on, the aspect ratio kept,
# both sides multiples of 16. No augmentation, so the frozen encoder output can be cached.
#
# Protocol: the dataset's own 90 train / 10 test frames. train_dataloader.dataset.size picks a
# seeded subset of the 90 for few-label runs (None = all non-held-out frames); `held_out`
# (train_dataloader.dataset.held_out and val_dataloader.dataset.held_out, set both) reserves
# frames of the 90 for validation (tuning), and the validation loader reads exactly those;
# `seed` (both loaders too) chooses the frames. With held_out=0 (final runs) there is no
# validation; score the test split with tools/test.py after training.
dataset_type = 'AdBoardDataset'
data_root = '{{$FOOTBALL_ADBOARD_DATA_ROOT:data/football_adboard}}'
img_scale = (1024, 576)  # (width, height) for mmcv's Resize

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_split = dict(type=dataset_type, data_root=data_root,
                   data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'))

train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='SeededSubsetDataset', size=None, seed=0, held_out=10,
                 dataset=dict(**train_split, pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SeededSubsetDataset', select='held_out', seed=0, held_out=10,
                 dataset=dict(**train_split, pipeline=test_pipeline)))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 data_prefix=dict(img_path='img_dir/test', seg_map_path='ann_dir/test'),
                 pipeline=test_pipeline))

val_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU']),
                 dict(type='PerImageIoUMetric', foreground_index=1)]
test_evaluator = val_evaluator
