# MobileSAM with LoRA (rank 4, alpha 4) on q and v of every attention block of its TinyViT,
# trainable neck + ConvTransposeLNHead, on the binary football adboard task at 1024 x 576:
# the recipe of ../sam_frozen/convtrans-ln_sam-vit-t-frozen_1xb2-500_football-adboard-
# 576x1024.py (Adam 1e-3, batch 2, 500 iterations) with the encoder adapted, SAMed style.
# The trunk then trains, so the frozen-feature cache is off ('auto' turns it off and the log
# says why) and every step runs the encoder forward and backward. Checkpoints hold only the
# trained tensors (LoRA, neck, head); the frozen ones load from MOBILE_SAM_CHECKPOINT.
#   python tools/train.py THIS_CONFIG --cfg-options train_dataloader.dataset.size=10
_base_ = [
    '../_base_/models/convtrans-ln_sam-vit-t.py',
    '../_base_/datasets/football_adboard.py',
    '../_base_/schedules/schedule_adam-1e-3_500it.py',
    '../_base_/default_runtime.py',
]
input_size = (576, 1024)  # (height, width): the padded model input, nothing is cropped
model = dict(
    data_preprocessor=dict(size=input_size),
    backbone=dict(img_size=input_size,
                  lora=dict(rank=4, alpha=4, targets=('q', 'v'), blocks=None)))
custom_hooks = [dict(type='FrozenFeatureCacheHook'), dict(type='MaskCheckHook'),
                dict(type='RngStateHook'), dict(type='TrainableOnlyCheckpointHook')]
