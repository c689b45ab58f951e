# Frozen SAM ViT-B (official sam_vit_b_01ec64.pth, trainable neck) with MMSeg's FCNHead
# instead of ConvTransposeLNHead, binary football adboard task: the ViT-B counterpart of
# fcn_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py (same head). Everything else is
# that of ../sam_frozen/convtrans-ln_sam-vit-b-frozen_1xb2-500_football-adboard-576x1024.py.
#   python tools/train.py THIS_CONFIG [--cfg-options train_dataloader.dataset.size=10]
_base_ = ['../sam_frozen/convtrans-ln_sam-vit-b-frozen_1xb2-500_football-adboard-576x1024.py']
model = dict(
    decode_head=dict(
        _delete_=True,
        type='FCNHead',
        in_channels=256,
        in_index=-1,  # the neck output is always the backbone's last output
        channels=256, num_convs=2, concat_input=True, dropout_ratio=0.1,
        num_classes=2, out_channels=1, threshold=0.5,
        norm_cfg=dict(type='BN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))
