# Our ConvTransposeLNHead on MMSeg's ResNet-50-D8 (ImageNet-pretrained ResNetV1c), binary
# football adboard task: the DeepLabV3+ baseline with its ASPP and auxiliary heads replaced.
# The last stage is stride 8 (2048 channels), so three 2x blocks bring it to full size.
# Backbone and head train together with the baseline's SGD/poly recipe.
#   python tools/train.py THIS_CONFIG [--cfg-options train_dataloader.dataset.size=10]
#   from scratch: --cfg-options model.pretrained=None model.backbone.init_cfg=None
_base_ = ['../baselines/deeplabv3plus_r50-d8_1xb2-500_football-adboard-576x1024.py']
model = dict(
    decode_head=dict(
        _delete_=True,
        type='ConvTransposeLNHead',
        in_channels=2048,
        in_index=3,
        block_channels=(256, 64, 16),
        block_dropouts=(0.2, 0.0, 0.2),
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    auxiliary_head=None)
