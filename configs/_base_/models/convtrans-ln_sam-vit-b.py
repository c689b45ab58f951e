# The prompt-free SAM model: SAM ViT-B image encoder with a frozen trunk and a trainable
# neck, followed by ConvTransposeLNHead (4 x [ConvTranspose2d + LayerNorm2d + ReLU]) that
# upsamples the 256 x 64 x 64 neck output back to 1024 x 1024. Binary by default
# (1 sigmoid logit); multi-class configs set num_classes and out_channels and a softmax loss.
custom_imports = dict(imports=['mmseg_sam', 'mmseg_sam.safe_checkpoint_loading'],
                      allow_failed_imports=False)

# SAM's own pixel statistics (RGB, 0-255); images are padded, never cropped, to `size` in
# training and to a multiple of 16 (the patch size) in validation, test and inference, so
# any image size works; predictions and metrics are at the original size, padding removed.
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(1024, 1024),
    test_cfg=dict(size_divisor=16))

sam_vit_b_checkpoint = 'https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth'  # noqa

model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='SAMFrozenBackbone',
        arch='vit_b',
        img_size=1024,
        freeze_neck=False,
        # The trunk is frozen, so its output per image is computed once and reused by later
        # epochs and validation. enabled='auto': on unless the training pipeline has random
        # transforms without bound (RandomResize, RandomCrop, PhotoMetricDistortion, ...; a
        # RandomFlip keeps it on), decided and logged by FrozenFeatureCacheHook before
        # training; True forces it on, False off.
        feature_cache=dict(enabled='auto', max_memory_mb=4096, storage_dtype='float16'),
        init_cfg=dict(type='Pretrained', checkpoint=sam_vit_b_checkpoint,
                      prefix='image_encoder.')),
    decode_head=dict(
        type='ConvTransposeLNHead',
        in_channels=256,
        block_channels=(128, 64, 32, 16),
        block_dropouts=(0.2, 0.0, 0.2, 0.0),
        num_classes=2,
        out_channels=1,
        threshold=0.5,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

# MaskCheckHook refuses masks that do not fit the head (values, sizes, 0/255 in a 0/1 task)
# before the run starts, naming the files.
custom_hooks = [dict(type='FrozenFeatureCacheHook'), dict(type='MaskCheckHook'),
                dict(type='RngStateHook')]
