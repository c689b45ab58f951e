# All 12 classes of the Acme AI football dataset, converted by
# tools/dataset_converters/football.py into data/football. Same frames, sizes, protocol and
# loaders as football_adboard.py; only the dataset type, the root and the metric's
# foreground class (3 = Advertisement) differ.
_base_ = ['./football_adboard.py']

data_root = '{{$FOOTBALL_DATA_ROOT:data/football}}'
football = dict(type='FootballDataset', data_root=data_root)

train_dataloader = dict(dataset=dict(dataset=football))
val_dataloader = dict(dataset=dict(dataset=football))
test_dataloader = dict(dataset=football)

val_evaluator = [dict(type='IoUMetric', iou_metrics=['mIoU']),
                 dict(type='PerImageIoUMetric', foreground_index=3)]
test_evaluator = val_evaluator
