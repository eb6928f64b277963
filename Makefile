# invtoolbox developer entry points. See README.md.
#   make quickstart   set up .venv, train the IRN x2 quick start on the demo images
#                     (~5 CPU minutes) and print Y-PSNR next to bicubic
#   make test         set up .venv (reused if present) and run the whole test suite
#   make test-fast    the same without the end-to-end runs in subprocesses
#                     (tests marked e2e); a few minutes on 2 cores
PYTHON ?= python3
VENV ?= .venv
# The CPU build of torch is installed first: a looser requirement with no torch
# installed would pull a multi-GB CUDA build. Override for your platform, e.g.
#   make test TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
TORCH ?= torch==2.13.0
TORCH_PIP_ARGS ?=
PYTEST_ARGS ?=
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.invtoolbox-installed

.PHONY: venv test test-fast quickstart inn-report benchmark clean

venv: $(STAMP)

$(STAMP): setup.py setup.cfg pyproject.toml requirements/runtime.txt requirements/tests.txt
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	@$(VPY) -c "import torch" 2>/dev/null || $(VPY) -m pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH)"
	$(VPY) -m pip install --quiet -e ".[tests]"
	@$(VPY) -c "import torch, mmengine, mmcv, invtoolbox; print('invtoolbox', invtoolbox.__version__, '| torch', torch.__version__, '| mmengine', mmengine.__version__, '| mmcv', mmcv.__version__)"
	@touch $(STAMP)

test: venv
	$(VPY) -m pytest $(PYTEST_ARGS)

test-fast: venv
	INVTB_FAST_LANE=1 $(VPY) -m pytest -m "not e2e" $(PYTEST_ARGS)

quickstart: venv
	$(VPY) tools/train.py configs/irn/irn_x2_quickstart.py

inn-report: venv
	$(VPY) tools/analysis_tools/invertibility_report.py configs/inn/irn_x2_inn.py --image demo/kodim23_crop.png

benchmark: venv
	$(VPY) -m benchmarks.benchmark_inn

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
