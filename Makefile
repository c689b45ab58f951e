# One-command environment for mmseg-sam. `make demo` and `make test` install first.
#
# Overridable for other set-ups, e.g. a CUDA machine on torch 2.1 with OpenMMLab's
# prebuilt mmcv wheels:
#   make install TORCH_SPEC="torch==2.1.2 torchvision==0.16.2" \
#       MMCV_SPEC="mmcv==2.1.0 -f https://download.openmmlab.com/mmcv/dist/cu121/torch2.1/index.html"
# and, to compile mmcv's CUDA ops from source instead: make install MMCV_FORCE_CUDA=1

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
MMCV_SPEC ?= mmcv==2.1.0
MMCV_FORCE_CUDA ?= 0
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.mmseg-sam-installed

.PHONY: install test lint demo clean-venv

install: $(STAMP)

# The stamp depends on the files that define the environment, so a second `make install`
# does nothing unless they changed.
$(STAMP): setup.py Makefile
	@echo "==> creating $(VENV) with $(PYTHON)"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "==> build tools (setuptools<81 keeps pkg_resources for mmcv and mmengine)"
	$(PIP) install -q "setuptools<81" wheel
	@echo "==> $(TORCH_SPEC)"
	@# setuptools is named again: torch depends on it and would otherwise upgrade it past 80.
	$(PIP) install -q $(TORCH_SPEC) "setuptools<81"
	@echo "==> $(MMCV_SPEC) with compiled ops (first build from source takes 15-25 min on 2 cores; pip caches the wheel)"
	MMCV_WITH_OPS=1 FORCE_CUDA=$(MMCV_FORCE_CUDA) $(PIP) install --no-build-isolation $(MMCV_SPEC)
	@echo "==> mmseg-sam and its remaining dependencies"
	$(PIP) install -q -e ".[tests,plot]"
	$(PY) -c "import mmcv.ops, mmseg, mmseg_sam; print('environment ok: mmseg', mmseg.__version__, '| mmseg_sam', mmseg_sam.__version__)"
	touch $@

lint: install
	$(VENV)/bin/ruff check .

test: install lint
	$(PY) -m pytest tests

demo: install
	$(PY) tools/demo.py

clean-venv:
	rm -rf $(VENV)
