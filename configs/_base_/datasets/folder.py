# Your own images and masks, converted by tools/dataset_converters/folder.py into
# FOLDER_DATA_ROOT (default data/folder): img_dir/{train,test}, ann_dir/{train,test} and
# dataset_meta.json, from which FolderSegDataset reads the class names.
# Any image size: each image is resized with its aspect ratio kept so that the longer side is
# 1024, then the data preprocessor pads it to 1024 x 1024 (as SAM was trained); metrics and
# saved masks are computed at the original size with the padding removed. No augmentation,
# so the frozen encoder output is cached.
# Validation: a seeded 10% of the training images (at least 1) is held out; the labelled
# subset is train_dataloader.dataset.size (None = all the others). Score the test split with
# tools/test.py after training.
dataset_type = 'FolderSegDataset'
data_root = '{{$FOLDER_DATA_ROOT:data/folder}}'
img_scale = (1024, 1024)  # the longer side becomes 1024, aspect ratio kept

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
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
    dataset=dict(type='SeededSubsetDataset', size=None, seed=0, held_out=0.1,
                 dataset=dict(**train_split, pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SeededSubsetDataset', select='held_out', seed=0, held_out=0.1,
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
