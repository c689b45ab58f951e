# MMSeg's CNN recipe (schedule_40k/160k: SGD lr 0.01, momentum 0.9, weight decay 5e-4, poly
# decay to 1e-4 with power 0.9) shrunk to our 500-iteration budget. Loop and validation are
# those of schedule_adam-1e-3_500it.py (checkpointing and logging those of default_runtime.py),
# so every model of a comparison is evaluated and its best checkpoint picked the same way.
_base_ = ['./schedule_adam-1e-3_500it.py']

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005),
    clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=500, by_epoch=False),
]
