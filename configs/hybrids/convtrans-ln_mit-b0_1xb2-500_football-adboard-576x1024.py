# Our ConvTransposeLNHead on MMSeg's MiT-B0 (ImageNet-pretrained SegFormer encoder), binary
# football adboard task: the SegFormer baseline with its all-MLP head replaced. The head
# reads the last stage (stride 32, 256 channels like SAM's neck) and needs five 2x blocks.
# Backbone and head train together with the baseline's AdamW recipe.
#   python tools/train.py THIS_CONFIG [--cfg-options train_dataloader.dataset.size=10]
#   from scratch: --cfg-options model.pretrained=None model.backbone.init_cfg=None
_base_ = ['../baselines/segformer_mit-b0_1xb2-500_football-adboard-576x1024.py']
model = dict(
    decode_head=dict(
        _delete_=True,
        type='ConvTransposeLNHead',
        in_channels=256,
        in_index=3,
        block_channels=(128, 64, 32, 16, 16),
        block_dropouts=(0.2, 0.0, 0.2, 0.0, 0.0),
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))
