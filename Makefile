# make demo: set up .venv, install, get the default data, run the main job.
# make test: same set-up, then the whole test suite.
PY_SYS ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
FASHION := /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz

.PHONY: setup data browser demo test bench clean scalesim-golden

setup: $(STAMP)

$(STAMP): setup.py pyproject.toml
	$(PY_SYS) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# CPU build of torch first (this machine serves 2.13.0 from disk); the rest from PyPI.
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# Fashion-MNIST comes from Debian's dataset-fashion-mnist; without root or apt the
# suite falls back to scikit-learn's bundled digits (scnas data says which).
data:
	@if [ ! -f $(FASHION) ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist) \
	      || echo "could not install dataset-fashion-mnist; falling back to digits"; \
	  elif command -v sudo >/dev/null; then \
	    sudo apt-get install -y -qq dataset-fashion-mnist || echo "falling back to digits"; \
	  else echo "no apt-get as root: Fashion-MNIST not installed, scnas falls back to digits"; fi; \
	fi

# Debian's Chromium and ChromeDriver, for the test that opens the report in a real browser
# (tests/reports/test_browser.py); without root or apt that test is skipped and says why.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver \
	      >/dev/null) || echo "could not install chromium; the browser test will be skipped"; \
	  else echo "no apt-get as root: chromium not installed, the browser test will be skipped"; fi; \
	fi

# The main job: train LeNet-5 on the default data (cached in runs/teachers: the demo keeps
# its teacher beside its runs instead of in $SCNAS_HOME/teachers, so the report finds it),
# emulate it bit-true on the SC accelerator at L = 32..1024, fine-tune it SC-aware for L = 32,
# score the trained model on binary and SC accelerators, and gather the runs into one HTML
# report (runs/report/index.html) whose co-design figure joins accuracy and cost.
demo: setup data
	$(VENV)/bin/scnas data
	$(VENV)/bin/scnas emulate --model lenet5 --dataset default \
	  --stream-length 32,64,128,256,512,1024 --sng lfsr,sobol --limit 2000 --teacher-dir runs/teachers --out runs/demo
	$(VENV)/bin/scnas finetune --model lenet5 --dataset default --stream-length 32 --mode bit --epochs 1 \
	  --limit 2000 --teacher-dir runs/teachers --out runs/demo-sc-aware
	$(VENV)/bin/scnas estimate --model "$$(ls -d runs/teachers/lenet5-* | head -n 1)" --compare systolic-32x32-ws \
	  spatial-16x16-kcp sc-64x64-L256 sc-64x64-os-L256 --stream-length 32,64,128,256,512,1024 --out runs/demo-estimate
	$(VENV)/bin/scnas search --quick --teacher-dir runs/teachers --out runs/demo-search
	$(VENV)/bin/scnas report runs/teachers/lenet5-* runs/demo runs/demo-sc-aware runs/demo-estimate runs/demo-search \
	  --out runs/report

test: setup data browser
	$(PY) -m pytest -q

bench: setup
	$(VENV)/bin/scnas bench kernels
	$(VENV)/bin/scnas bench emulate
	$(VENV)/bin/scnas bench estimator

# The estimator's golden file against SCALE-Sim 3 (its own venv: it needs numpy < 2). Takes
# about 25 minutes on 2 cores; resumes if interrupted. tests/ compare against the result.
SS_VENV := .venv-scalesim
scalesim-golden: setup
	[ -x $(SS_VENV)/bin/python ] || ($(PY_SYS) -m venv $(SS_VENV) && $(SS_VENV)/bin/pip install --quiet "numpy<2" scalesim==3.0.0)
	$(PY) -c "from tests.sc_accel.scalesim_check import validation_layers; from sc_accel.hw.scalesim import write_topology; \
	  write_topology(validation_layers(), 'tests/sc_accel/data/scalesim_topology.csv')"
	$(SS_VENV)/bin/python scripts/scalesim_golden.py tests/sc_accel/data/scalesim_topology.csv \
	  tests/sc_accel/data/scalesim_golden.json

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
