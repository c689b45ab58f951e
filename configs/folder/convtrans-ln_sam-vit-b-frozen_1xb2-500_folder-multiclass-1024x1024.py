# Your own task with C classes (index masks 0..C-1, names in dataset_meta.json): frozen SAM ViT-B
# + trainable neck + ConvTransposeLNHead with one logit per class and softmax cross-entropy,
# any image size (longer side to 1024, padded to 1024 x 1024), batch 2, 500 iterations of
# Adam 1e-3, the best checkpoint by mIoU on the held-out training images. The head must have
# as many classes as the data (checked before training):
#   python tools/train.py THIS_CONFIG --cfg-options model.decode_head.num_classes=C \
#       model.decode_head.out_channels=C
_base_ = [
    '../_base_/models/convtrans-ln_sam-vit-b.py',
    '../_base_/datasets/folder.py',
    '../_base_/schedules/schedule_adam-1e-3_500it.py',
    '../_base_/default_runtime.py',
]
model = dict(
    data_preprocessor=dict(test_cfg=dict(_delete_=True, size=(1024, 1024))),
    decode_head=dict(num_classes=3, out_channels=3, loss_decode=dict(use_sigmoid=False)))
val_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU'])]
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='mIoU'))
