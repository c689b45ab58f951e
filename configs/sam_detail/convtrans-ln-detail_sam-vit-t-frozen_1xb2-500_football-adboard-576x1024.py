# Frozen MobileSAM + trainable neck + the detail-preserving ConvTransposeLNHead (frozen stage
# skips at strides 4 and 8) on the binary football adboard task: otherwise the recipe of
# ../sam_frozen/convtrans-ln_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py.
#   python tools/train.py THIS_CONFIG --cfg-options train_dataloader.dataset.size=10
_base_ = [
    '../_base_/models/convtrans-ln-detail_sam-vit-t.py',
    '../_base_/datasets/football_adboard.py',
    '../_base_/schedules/schedule_adam-1e-3_500it.py',
    '../_base_/default_runtime.py',
]
input_size = (576, 1024)  # (height, width): the padded model input, nothing is cropped
model = dict(
    data_preprocessor=dict(size=input_size),
    backbone=dict(img_size=input_size, feature_cache=dict(max_memory_mb=4096)))
