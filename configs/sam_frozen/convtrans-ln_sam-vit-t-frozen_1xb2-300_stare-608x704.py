# The demo task with the seed head (`make demo` trains ../sam_detail's twin of this config;
# `python tools/demo.py --config THIS_CONFIG` trains this one): frozen MobileSAM + trainable
# neck + ConvTransposeLNHead on STARE retinal vessels (10 train / 10 val images) at 704 x 608.
# Vessels are ~8% of the pixels and a few pixels wide: plain BCE collapses to all-background,
# so a Dice term is added, and thin structures stay the hard case for features at 1/16 of the
# input resolution.
# tools/demo.py fetches weights and data and sets $MOBILE_SAM_CHECKPOINT and $STARE_DATA_ROOT
# (read by the model and dataset bases).
_base_ = [
    '../_base_/models/convtrans-ln_sam-vit-t.py',
    '../_base_/datasets/stare.py',
    '../_base_/schedules/schedule_adam-1e-3_500it.py',
    '../_base_/default_runtime.py',
]
input_size = (608, 704)  # (height, width): the padded model input, nothing is cropped

model = dict(
    data_preprocessor=dict(size=input_size),
    backbone=dict(img_size=input_size),
    decode_head=dict(loss_decode=[
        dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        dict(type='SoftDiceLoss', loss_weight=1.0)]))

train_cfg = dict(max_iters=300, val_interval=100)
default_hooks = dict(checkpoint=dict(interval=100))
