# The 12-class football task with the detail-preserving head: the model and schedule of
# ./convtrans-ln-detail_sam-vit-t-frozen_1xb2-500_football-adboard-576x1024.py with one logit
# per class and softmax cross-entropy, as in
# ../sam_frozen/convtrans-ln_sam-vit-t-frozen_1xb2-500_football-576x1024.py.
_base_ = [
    '../_base_/models/convtrans-ln-detail_sam-vit-t.py',
    '../_base_/datasets/football.py',
    '../_base_/schedules/schedule_adam-1e-3_500it.py',
    '../_base_/default_runtime.py',
]
input_size = (576, 1024)  # (height, width): the padded model input, nothing is cropped
model = dict(
    data_preprocessor=dict(size=input_size),
    backbone=dict(img_size=input_size, feature_cache=dict(max_memory_mb=4096)),
    decode_head=dict(
        num_classes=12, out_channels=12,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
