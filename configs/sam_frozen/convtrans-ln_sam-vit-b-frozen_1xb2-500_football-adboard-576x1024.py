# The adboard football config with SAM ViT-B (official sam_vit_b_01ec64.pth) instead of
# MobileSAM; everything else equal.
_base_ = [
    '../_base_/models/convtrans-ln_sam-vit-b.py',
    '../_base_/datasets/football_adboard.py',
    '../_base_/schedules/schedule_adam-1e-3_500it.py',
    '../_base_/default_runtime.py',
]
input_size = (576, 1024)  # (height, width): the padded model input, nothing is cropped
model = dict(
    data_preprocessor=dict(size=input_size),
    backbone=dict(img_size=input_size, feature_cache=dict(max_memory_mb=4096)))
