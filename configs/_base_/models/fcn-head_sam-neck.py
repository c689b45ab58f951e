# MMSeg's FCNHead on SAM's neck output, binary (one sigmoid logit): two 3x3 conv layers on the
# stride-16, 256-channel map, logits upsampled bilinearly. Only the head: the hybrid configs
# put it in place of ConvTransposeLNHead with  model = dict(decode_head={{_base_.fcn_head}}).
fcn_head = dict(
    _delete_=True,  # replaces the primitive's ConvTransposeLNHead, none of its keys kept
    type='FCNHead',
    in_channels=256,
    in_index=-1,  # the neck output is always the backbone's last output
    channels=256,
    num_convs=2,
    concat_input=True,
    dropout_ratio=0.1,
    num_classes=2,
    out_channels=1,
    threshold=0.5,
    norm_cfg=dict(type='BN', requires_grad=True),
    align_corners=False,
    loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0))
