# UNet (5 stages, output stride 1) with an FCN head and an FCN auxiliary head on the
# 12-class football task. MMSeg's packaged model as is; changed only for our data and
# budget: 1024 x 576 frames (both sides multiples of 16, as UNet's four downsamplings need),
# 12 classes, BN instead of SyncBN (one GPU), whole-image testing instead of the 256-pixel
# sliding window, MMSeg's SGD/poly recipe over our 500 iterations of batch 2. MMSeg trains
# UNet from scratch, so there are no pretrained weights to switch off.
#   python tools/train.py THIS_CONFIG [--cfg-options train_dataloader.dataset.size=10]
_base_ = [
    'mmseg::_base_/models/fcn_unet_s5-d16.py',
    '../_base_/datasets/football.py',
    '../_base_/schedules/schedule_sgd-1e-2-poly_500it.py',
    '../_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmseg_sam', 'mmseg_sam.safe_checkpoint_loading'],
                      allow_failed_imports=False)
input_size = (576, 1024)  # (height, width): the padded model input, nothing is cropped
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(size=input_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(num_classes=12, norm_cfg=norm_cfg),
    auxiliary_head=dict(num_classes=12, norm_cfg=norm_cfg),
    test_cfg=dict(_delete_=True, mode='whole'))
