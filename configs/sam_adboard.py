# The reference recipe of prompt-free SAM fine-tuning on the Kaggle football adboard set:
# SAM ViT-B at 1024 x 1024, frozen trunk, trainable neck + ConvTransposeLNHead
# (962,273 trainable of 89,845,729 parameters), BCE on logits, threshold 0.5, Adam lr 0.01
# without weight decay or schedule, batch 1, 11 epochs over the 135 training frames
# (1,485 iterations), fp32. The reference reports 0.9103 per-image foreground IoU on the
# 274 test frames (frames > 4000).
#   python tools/dataset_converters/adboard.py KAGGLE_ZIP_OR_DIR --out-dir data/adboard
#   python tools/train.py configs/sam_adboard.py
#   python tools/test.py configs/sam_adboard.py work_dirs/sam_adboard/best_*.pth
_base_ = [
    './_base_/models/convtrans-ln_sam-vit-b.py',
    './_base_/datasets/adboard.py',
    './_base_/default_runtime.py',
]

# A ViT-B trunk output is 768 x 64 x 64 (6 MB in float16); 12 GB holds the 135 training
# and ~1,200 validation frames, so the encoder runs once per frame over the whole run.
model = dict(backbone=dict(feature_cache=dict(max_memory_mb=12288)))

optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=0.01, weight_decay=0))
param_scheduler = []

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=11, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# Epoch-based: checkpoints every epoch (the best by per-image foreground IoU is kept, as in
# ../_base_/default_runtime.py), logs every 50 iterations, overlays of every 100th image.
default_hooks = dict(
    logger=dict(interval=50, log_metric_by_epoch=True),
    checkpoint=dict(by_epoch=True, interval=1, max_keep_ckpts=2),
    visualization=dict(interval=100))
log_processor = dict(by_epoch=True)
