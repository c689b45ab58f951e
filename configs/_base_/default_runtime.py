# MMSeg's runtime plus TensorBoard beside the local log backend (prediction overlays drawn
# during validation go to both; see SegVisualizationHook below). TensorBoard is optional:
# without the package the run says so once and logs locally only. Switch it off with
#   --cfg-options "visualizer.vis_backends=[dict(type='LocalVisBackend')]"
_base_ = ['mmseg::_base_/default_runtime.py']

vis_backends = [dict(type='LocalVisBackend'), dict(type='OptionalTensorboardVisBackend')]
# No fixed `name`: MMEngine then names the visualizer after the run, so two runs in one
# process (a notebook, the comparison tool) each write into their own work dir.
visualizer = dict(
    _delete_=True, type='SegLocalVisualizer', vis_backends=vis_backends, alpha=0.5)
randomness = dict(seed=0)

# Logging every 10 iterations; a checkpoint every 100, the best kept by per-image foreground
# IoU (the multi-class folder templates pick mIoU); epoch-based configs set by_epoch.
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=100, max_keep_ckpts=1,
                    save_best='per_image_fg_iou', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Image + prediction overlays of every 5th validation batch, into the vis backends.
    visualization=dict(type='SegVisualizationHook', draw=True, interval=5))
