# Kaggle "football-match-adboards-mask-dataset", converted by
# tools/dataset_converters/adboard.py (train = 10% of frames < 4000, val = the other 90%,
# test = frames > 4000). The reference recipe resizes image and mask to 1024 x 1024 with
# nearest-neighbour interpolation, without keeping the aspect ratio, and uses no augmentation.
dataset_type = 'AdBoardDataset'
data_root = '{{$ADBOARD_DATA_ROOT:data/adboard}}'
img_scale = (1024, 1024)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=img_scale, keep_ratio=False, interpolation='nearest'),
    dict(type='PackSegInputs'),
]
# Metrics are computed against the mask at its original size (MMSeg's convention): the
# prediction is resized back before scoring.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=False, interpolation='nearest'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]


train_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
                 pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 data_prefix=dict(img_path='img_dir/test', seg_map_path='ann_dir/test'),
                 pipeline=test_pipeline))

# MMSeg's dataset-level IoU (per class, background included) beside the reference's metric,
# the foreground IoU of each image averaged over images.
val_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU']),
                 dict(type='PerImageIoUMetric', foreground_index=1)]
test_evaluator = val_evaluator
