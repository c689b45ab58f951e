# One-command environment for mmseg-sam. `make demo` and `make test` install first.
#
# Overridable for other set-ups (see README.md, Install): TORCH_SPEC for another torch,
# MMCV_BUILD_TORCH + MMCV_FORCE_CUDA=1 to compile mmcv's CUDA ops against a CUDA torch.

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
MMCV_SPEC ?= mmcv==2.1.0
MMCV_FORCE_CUDA ?= 0
# mmcv 2.1.0's setup.py compiles its ops with -std=c++17, but torch >= 2.14's headers need
# C++20, so the ops are compiled against torch 2.13 (CPU) in a throw-away build venv; the
# resulting wheel imports and runs under torch 2.14.1. The wheel is kept in the user's
# cache, so the 15-25 minute compile happens once per machine.
MMCV_BUILD_TORCH ?= torch==2.13.0
MMCV_WHEELHOUSE ?= $(HOME)/.cache/mmseg-sam/wheels
MMCV_BUILD_VENV := $(MMCV_WHEELHOUSE)/build-venv
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
	@echo "==> $(MMCV_SPEC) with compiled ops"
	@if ls $(MMCV_WHEELHOUSE)/mmcv-*.whl >/dev/null 2>&1; then \
		echo "    using the wheel built earlier in $(MMCV_WHEELHOUSE)"; \
	else \
		echo "    compiling from source against $(MMCV_BUILD_TORCH): 15-25 min on 2 cores, once"; \
		$(PYTHON) -m venv $(MMCV_BUILD_VENV) && \
		$(MMCV_BUILD_VENV)/bin/python -m pip install -q "setuptools<81" wheel $(MMCV_BUILD_TORCH) && \
		MMCV_WITH_OPS=1 FORCE_CUDA=$(MMCV_FORCE_CUDA) MAX_JOBS=$$(nproc) \
			$(MMCV_BUILD_VENV)/bin/python -m pip wheel --no-build-isolation --no-deps \
			$(MMCV_SPEC) -w $(MMCV_WHEELHOUSE) && \
		rm -rf $(MMCV_BUILD_VENV); \
	fi
	$(PIP) install -q --find-links $(MMCV_WHEELHOUSE) $(MMCV_SPEC)
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
