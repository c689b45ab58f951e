# SegFormer (MiT-B0, ImageNet-pretrained) on the binary football adboard task. MMSeg's
# packaged model and its pretrained MiT-B0 weights as in segformer_mit-b0_8xb2-160k_ade20k;
# changed only for our data and budget: 1024 x 576 frames, one sigmoid logit + BCE, BN
# instead of SyncBN in the head (one GPU), whole-image testing, MMSeg's SegFormer AdamW
# recipe over our 500 iterations of batch 2.
#   python tools/train.py THIS_CONFIG [--cfg-options train_dataloader.dataset.size=10]
#   from scratch (no ImageNet download): add
#     --cfg-options model.pretrained=None model.backbone.init_cfg=None
_base_ = [
    'mmseg::_base_/models/segformer_mit-b0.py',
    '../_base_/datasets/football_adboard.py',
    '../_base_/schedules/schedule_adamw-6e-5-poly_500it.py',
    '../_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmseg_sam', 'mmseg_sam.safe_checkpoint_loading'],
                      allow_failed_imports=False)
input_size = (576, 1024)  # (height, width): the padded model input, nothing is cropped
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(size=input_size)
checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b0_20220624-7e0fe6dd.pth'  # noqa
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(init_cfg=dict(type='Pretrained', checkpoint=checkpoint)),
    decode_head=dict(num_classes=2, out_channels=1, threshold=0.5, norm_cfg=norm_cfg,
                     loss_decode=dict(use_sigmoid=True)),
    test_cfg=dict(mode='whole'))
