# Our ConvTransposeLNHead on MMSeg's VisionTransformer ViT-B/16 (ImageNet-21k weights of
# MMSeg's Segmenter recipe), binary football adboard task. The last layer's tokens are a
# stride-16 map of 768 channels, so the head keeps its four 2x blocks. Position embeddings
# are resized to 576 x 1024 when the weights load. Backbone and head train together with
# Segmenter's recipe (SGD lr 0.001, no weight decay, poly) over our 500 iterations.
#   python tools/train.py THIS_CONFIG [--cfg-options train_dataloader.dataset.size=10]
#   from scratch: --cfg-options model.pretrained=None model.backbone.init_cfg=None
_base_ = [
    'mmseg::_base_/models/segmenter_vit-b16_mask.py',
    '../_base_/datasets/football_adboard.py',
    '../_base_/schedules/schedule_sgd-1e-2-poly_500it.py',
    '../_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmseg_sam', 'mmseg_sam.safe_checkpoint_loading'],
                      allow_failed_imports=False)
input_size = (576, 1024)  # (height, width): the padded model input, nothing is cropped
data_preprocessor = dict(size=input_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(img_size=input_size),
    decode_head=dict(
        _delete_=True,
        type='ConvTransposeLNHead',
        in_channels=768,
        block_channels=(128, 64, 32, 16),
        block_dropouts=(0.2, 0.0, 0.2, 0.0),
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    test_cfg=dict(_delete_=True, mode='whole'))
optim_wrapper = dict(optimizer=dict(lr=0.001, weight_decay=0.0))
