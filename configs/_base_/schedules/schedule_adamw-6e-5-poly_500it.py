# MMSeg's SegFormer recipe (AdamW lr 6e-5, weight decay 0.01, no decay on norms and position
# blocks, 10x lr on the heads; linear warm-up, then linear (power 1) decay to 0) shrunk to
# our 500-iteration budget: the warm-up keeps its share of the schedule (1,500 of 160k
# iterations, ~1%, so 5 here). Loop and validation are those of schedule_adam-1e-3_500it.py.
_base_ = ['./schedule_adam-1e-3_500it.py']

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={
        'pos_block': dict(decay_mult=0.0),
        'norm': dict(decay_mult=0.0),
        'head': dict(lr_mult=10.0),
    }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=5),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=5, end=500, by_epoch=False),
]
