# Adam lr 1e-3 without weight decay or decay schedule, 500 iterations, validation every 100
# (checkpointing and logging are in ../default_runtime.py).
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3, weight_decay=0))
param_scheduler = []

train_cfg = dict(type='IterBasedTrainLoop', max_iters=500, val_interval=100)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
