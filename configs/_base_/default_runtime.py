# MMSeg's runtime plus TensorBoard beside the local log backend (prediction overlays drawn
# during validation go to both; see the schedules' SegVisualizationHook). Switch TensorBoard
# off with  --cfg-options "visualizer.vis_backends=[dict(type='LocalVisBackend')]"
_base_ = ['mmseg::_base_/default_runtime.py']

vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
# No fixed `name`: MMEngine then names the visualizer after the run, so two runs in one
# process (a notebook, the comparison tool) each write into their own work dir.
visualizer = dict(
    _delete_=True, type='SegLocalVisualizer', vis_backends=vis_backends, alpha=0.5)
randomness = dict(seed=0)
