# Your own binary task (background / one foreground class): frozen MobileSAM + trainable
# neck + ConvTransposeLNHead (one sigmoid logit, BCE), any image size (longer side to 1024,
# padded to 1024 x 1024), batch 2, 500 iterations of Adam 1e-3, the best checkpoint by
# per-image foreground IoU on the held-out training images.
#   python tools/dataset_converters/folder.py IMAGES MASKS --out-dir data/folder
#   python tools/train.py THIS_CONFIG
#   python tools/test.py THIS_CONFIG work_dirs/THIS_CONFIG_NAME/best_*.pth --show-dir overlays
# Another data folder: FOLDER_DATA_ROOT=DIR; fewer labels: train_dataloader.dataset.size=N.
_base_ = [
    '../_base_/models/convtrans-ln_sam-vit-t.py',
    '../_base_/datasets/folder.py',
    '../_base_/schedules/schedule_adam-1e-3_500it.py',
    '../_base_/default_runtime.py',
]
# Test images are padded to the training size too, the input SAM's encoder was trained on.
model = dict(data_preprocessor=dict(test_cfg=dict(_delete_=True, size=(1024, 1024))))
