# fcn_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py with SAM ViT-B (official
# sam_vit_b_01ec64.pth) instead of MobileSAM; everything else equal.
_base_ = ['./fcn_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py']
sam_vit_b_checkpoint = 'https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth'  # noqa
model = dict(
    backbone=dict(
        arch='vit_b',
        init_cfg=dict(type='Pretrained', checkpoint=sam_vit_b_checkpoint,
                      prefix='image_encoder.')))
