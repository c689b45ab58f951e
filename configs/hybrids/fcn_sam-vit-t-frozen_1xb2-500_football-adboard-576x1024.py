# Frozen MobileSAM (trainable neck) with MMSeg's FCNHead instead of ConvTransposeLNHead,
# binary football adboard task: two 3x3 conv layers on the stride-16 neck output, logits
# upsampled bilinearly (../_base_/models/fcn-head_sam-neck.py). Everything else (data, Adam
# 1e-3, 500 iterations, feature cache) is that of
# ../sam_frozen/convtrans-ln_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py.
#   python tools/train.py THIS_CONFIG [--cfg-options train_dataloader.dataset.size=10]
_base_ = [
    '../sam_frozen/convtrans-ln_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py',
    '../_base_/models/fcn-head_sam-neck.py',
]
model = dict(decode_head={{_base_.fcn_head}})
