# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
"""Single source of the package version (read by setup.py without importing torch)."""

__version__ = '0.1.0'
