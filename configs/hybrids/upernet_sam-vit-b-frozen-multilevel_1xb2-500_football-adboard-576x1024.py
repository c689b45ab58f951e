# Frozen SAM ViT-B (trainable neck) feeding MMSeg's UPerHead through a feature pyramid,
# binary football adboard task. Four stride-16 levels: the outputs of ViT blocks 2, 5 and 8
# (768 channels; block 2 is the first global-attention block, the early feature HQ-SAM
# uses for detail) and SAM's neck output (256). ChannelProjection gives each level a 1x1
# conv + LayerNorm2d to 256 channels; MMSeg's Feature2Pyramid then rescales them x4, x2,
# x1, x0.5 (strides 4, 8, 16, 32, earliest block finest) for UPerHead.
# Everything else (data, Adam 1e-3, 500 iterations, feature cache, which now also holds the
# three block outputs) is that of
# ../sam_frozen/convtrans-ln_sam-vit-b-frozen_1xb2-500_football-adboard-576x1024.py.
#   python tools/train.py THIS_CONFIG [--cfg-options train_dataloader.dataset.size=10]
_base_ = ['../sam_frozen/convtrans-ln_sam-vit-b-frozen_1xb2-500_football-adboard-576x1024.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(out_indices=(2, 5, 8)),
    neck=dict(
        type='SequentialNeck',
        necks=[
            dict(type='ChannelProjection', in_channels=[768, 768, 768, 256], out_channels=256),
            dict(type='Feature2Pyramid', embed_dim=256, rescales=[4, 2, 1, 0.5],
                 norm_cfg=norm_cfg),
        ]),
    decode_head=dict(
        _delete_=True,
        type='UPerHead',
        in_channels=[256, 256, 256, 256],
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=256,
        dropout_ratio=0.1,
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))
