# fcn_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py with SAM ViT-B (official
# sam_vit_b_01ec64.pth) instead of MobileSAM; everything else equal.
_base_ = ['./fcn_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py']
# The official URL is defined once, in ../_base_/models/convtrans-ln_sam-vit-b.py.
model = dict(
    backbone=dict(
        arch='vit_b',
        init_cfg=dict(type='Pretrained', checkpoint={{_base_.sam_vit_b_checkpoint}},
                      prefix='image_encoder.')))
