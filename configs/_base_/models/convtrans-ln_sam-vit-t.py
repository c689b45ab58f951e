# MobileSAM (TinyViT encoder distilled from SAM ViT-H; same 256 x 64 x 64 output) with the
# frozen trunk, trainable neck and ConvTransposeLNHead of convtrans-ln_sam-vit-b.py.
# The weights come from MobileSAM's official URL unless MOBILE_SAM_CHECKPOINT names a
# local copy (for example the one `python -m mmseg_sam.utils.assets mobile_sam` fetches).
_base_ = ['./convtrans-ln_sam-vit-b.py']

mobile_sam_checkpoint = '{{$MOBILE_SAM_CHECKPOINT:https://github.com/ChaoningZhang/MobileSAM/raw/master/weights/mobile_sam.pt}}'  # noqa
model = dict(
    backbone=dict(
        arch='vit_t',
        init_cfg=dict(type='Pretrained', checkpoint=mobile_sam_checkpoint,
                      prefix='image_encoder.')))
