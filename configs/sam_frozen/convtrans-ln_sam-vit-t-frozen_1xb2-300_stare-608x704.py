# The demo (`make demo`): frozen MobileSAM + trainable neck + ConvTransposeLNHead on STARE
# retinal vessels (10 train / 10 val images, 700 x 605, expert "ah" masks), at 704 x 608
# (the native size rounded to multiples of 16). Vessels are ~8% of the pixels and a few
# pixels wide: plain BCE collapses to all-background, so a Dice term is added, and thin
# structures stay the hard case for features at 1/16 of the input resolution.
# tools/demo.py fetches weights and data and sets the two environment variables below.
_base_ = [
    '../_base_/models/convtrans-ln_sam-vit-t.py',
    '../_base_/schedules/schedule_adam-1e-3_500it.py',
    '../_base_/default_runtime.py',
]
dataset_type = 'STAREDataset'
data_root = '{{$STARE_DATA_ROOT:data/stare}}'
img_scale = (704, 608)  # (width, height) for mmcv's Resize
input_size = (608, 704)  # (height, width): the padded model input, nothing is cropped

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
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=train_pipeline,
                 data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train')))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=test_pipeline,
                 data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val')))
test_dataloader = val_dataloader
val_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU']),
                 dict(type='PerImageIoUMetric', foreground_index=1)]
test_evaluator = val_evaluator

model = dict(
    data_preprocessor=dict(size=input_size),
    backbone=dict(img_size=input_size),
    decode_head=dict(loss_decode=[
        dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        dict(type='SoftDiceLoss', loss_weight=1.0)]))

train_cfg = dict(max_iters=300, val_interval=100)
default_hooks = dict(checkpoint=dict(interval=100))
