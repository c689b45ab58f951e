# Frozen SAM ViT-B (official sam_vit_b_01ec64.pth, trainable neck) with MMSeg's FCNHead
# instead of ConvTransposeLNHead, binary football adboard task: the ViT-B counterpart of
# fcn_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py (the same head,
# ../_base_/models/fcn-head_sam-neck.py). Everything else is that of
# ../sam_frozen/convtrans-ln_sam-vit-b-frozen_1xb2-500_football-adboard-576x1024.py.
#   python tools/train.py THIS_CONFIG [--cfg-options train_dataloader.dataset.size=10]
_base_ = [
    '../sam_frozen/convtrans-ln_sam-vit-b-frozen_1xb2-500_football-adboard-576x1024.py',
    '../_base_/models/fcn-head_sam-neck.py',
]
model = dict(decode_head={{_base_.fcn_head}})
