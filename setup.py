# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Packaging for mmseg-sam, an MMSegmentation 1.x plugin for prompt-free SAM fine-tuning.

The dependency window below is the one the test suite runs against. Each pin says why it
exists, because most of them work around packaging problems of the OpenMMLab stack on a
current PyTorch rather than API needs of this package.
"""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_version() -> str:
    """Read ``__version__`` from mmseg_sam/version.py without importing the package."""
    namespace: dict = {}
    exec((HERE / 'mmseg_sam' / 'version.py').read_text(), namespace)
    return namespace['__version__']


INSTALL_REQUIRES = [
    # torchvision is imported by segment_anything at import time; torch>=2.6 because the
    # checkpoint allow-list (mmseg_sam.utils.checkpoint_safety) relies on weights_only loading.
    'torch>=2.6',
    'torchvision',
    # MMSeg 1.2.2 is tested against the 0.10 line of MMEngine.
    'mmengine>=0.10.0,<0.11',
    # MMSeg 1.2.2 asserts mmcv<2.2.0 and imports mmcv.ops at import time, so the full mmcv
    # with compiled ops is needed (mmcv-lite fails). PyPI only has the 2.1.0 sdist: build it
    # with `pip install --no-build-isolation mmcv==2.1.0` after torch (see the Makefile).
    'mmcv>=2.0.0rc4,<2.2.0',
    'mmsegmentation==1.2.2',
    # The official image encoder, LayerNorm2d and the model registry for parity.
    'segment-anything==1.0',
    'opencv-python-headless',
    # mmseg imports ftfy and regex (text encoders) at import time but does not declare them.
    'ftfy',
    'regex',
    # pkg_resources is used by mmcv's setup.py and by MMEngine's `mmseg::` config lookup;
    # setuptools 81 removed it.
    'setuptools<81',
    'numpy',
    'tqdm',
]

EXTRAS_REQUIRE = {
    # mobilesam-mirror: the reference TinyViT for the parity tests (imports timm).
    # tensorboard: the tests check the TensorBoard path of the runtime config too; the
    # deploy packages: the ONNX export is tested against onnxruntime.
    'tests': ['pytest>=7', 'ruff>=0.5', 'timm>=1.0', 'mobilesam-mirror==1.0.0', 'tensorboard',
              'onnx>=1.17', 'onnxscript>=0.5', 'onnxruntime>=1.20'],
    'plot': ['matplotlib'],
    # Our runtime config also logs to TensorBoard when it is installed (else it says so).
    'tensorboard': ['tensorboard'],
    # tools/deployment/export_onnx.py: torch's ONNX exporter (onnx, onnxscript) and the
    # onnxruntime check of the exported graph.
    'deploy': ['onnx>=1.17', 'onnxscript>=0.5', 'onnxruntime>=1.20'],
}

setup(
    name='mmseg-sam',
    version=read_version(),
    description='Prompt-free fine-tuning of Segment Anything inside MMSegmentation 1.x',
    long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.9',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'tests.*')),
    # mmseg_sam/configs links to the repository's configs/, so the wheel ships them inside the
    # package and an installed mmseg_sam serves them to configs elsewhere (config_path).
    package_data={'mmseg_sam': ['configs/**/*.py', 'configs/**/*.md']},
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    classifiers=[
        'Programming Language :: Python :: 3',
        'License :: OSI Approved :: Apache Software License',
        'Topic :: Scientific/Engineering :: Image Recognition',
    ],
)
