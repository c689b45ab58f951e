# MobileSAM with a detail-preserving ConvTransposeLNHead: the seed decoder plus skips that
# bring back what the 1/16-scale neck output has lost. The frozen TinyViT stage outputs at
# strides 4 and 8 (cached with the trunk output, like it) are each projected by a
# zero-initialised 1x1 convolution and added where the decoder reaches their resolution.
# Backbone outputs, in order: 0 stage 0 (64 x H/4), 1 stage 1 (128 x H/8), 2 neck (256 x
# H/16, the head input). A trainable image stem (backbone detail_stem, strides 1 and 2) is an
# option; on 10 labelled frames it lowered held-out IoU (README, "Detail-preserving head").
_base_ = ['./convtrans-ln_sam-vit-t.py']

model = dict(
    backbone=dict(out_indices=(0, 1)),
    decode_head=dict(
        in_index=2,
        skips=[dict(in_index=0, in_channels=64, stride=4),
               dict(in_index=1, in_channels=128, stride=8)]))
