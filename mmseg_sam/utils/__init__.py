# Copyright (c) mmseg-sam contributors. Licensed under the Apache License 2.0.
