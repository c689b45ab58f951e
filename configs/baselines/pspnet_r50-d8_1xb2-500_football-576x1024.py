# PSPNet (ResNet-50-D8, ImageNet-pretrained ResNetV1c) on the 12-class football task.
# MMSeg's packaged model as is; changed only for our data and budget: 1024 x 576 frames,
# 12 classes, BN instead of SyncBN (one GPU), whole-image testing, MMSeg's SGD/poly recipe
# over our 500 iterations of batch 2.
#   python tools/train.py THIS_CONFIG [--cfg-options train_dataloader.dataset.size=10]
#   from scratch (no ImageNet download): add
#     --cfg-options model.pretrained=None model.backbone.init_cfg=None
_base_ = [
    'mmseg::_base_/models/pspnet_r50-d8.py',
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
    test_cfg=dict(mode='whole'))
