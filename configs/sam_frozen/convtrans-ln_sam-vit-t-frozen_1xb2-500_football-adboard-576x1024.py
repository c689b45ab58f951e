# Frozen MobileSAM + trainable neck + ConvTransposeLNHead on the binary football adboard
# task, 1024 x 576 frames, batch 2, 500 iterations of Adam lr 1e-3 (the reference's 0.01
# collapses to all-background with this encoder).
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
    backbone=dict(img_size=input_size, feature_cache=dict(max_memory_mb=4096)))
