# Adam lr 1e-3 without weight decay or decay schedule, 500 iterations, validation and a
# checkpoint every 100; the best checkpoint is kept by per-image foreground IoU.
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3, weight_decay=0))
param_scheduler = []

train_cfg = dict(type='IterBasedTrainLoop', max_iters=500, val_interval=100)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=100, max_keep_ckpts=1,
                    save_best='per_image_fg_iou', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Image + prediction overlays of every 5th validation batch, into the vis backends.
    visualization=dict(type='SegVisualizationHook', draw=True, interval=5))
