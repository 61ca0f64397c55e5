# The README's two commands: `make run` (every lab, quick budget) and `make test`.
# Both create .venv when missing and install what they need; nothing is done by hand.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
DLTP   := $(VENV)/bin/dltp
PIP    := $(PY) -m pip install --quiet --disable-pip-version-check
PYTEST := $(PY) -m pytest

.PHONY: run test test-image test-models bench records records-check paper install install-test student clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip

# torch is installed first and alone so that nothing can resolve another (CUDA) build.
# On Linux, PyPI's torch wheel is the CUDA build (several GB); TORCH_INDEX chooses another index:
#   make install TORCH_INDEX=https://download.pytorch.org/whl/cpu     # the CPU-only build
#   make install TORCH_INDEX=https://download.pytorch.org/whl/cu126   # one CUDA version's build
# Left empty, pip resolves torch==2.13.0 from its own configuration (this project's machines: the CPU build).
TORCH_INDEX ?=
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -e '.[test,jax,tensorflow]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(DLTP) run all --quick
	@echo
	@echo "Results are tracked in MLflow ($${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db})."
	@echo "Open them with:   $(DLTP) ui      (then http://127.0.0.1:5000)"
	@echo "Results page:     dltp-results/report/index.html   (rebuild it: $(DLTP) report)"

# The whole suite runs under the default backend (torch), the course notebooks included: each is
# checked against its source, then executed in a Jupyter kernel (tests/notebooks). The model-level
# tests and the quick targets run again under jax and tensorflow: every model works, and every lab
# makes its point, on the three backends; one notebook runs under each too.
BACKEND_TESTS := tests/models tests/labs/test_quick_targets.py
test: install-test
	$(PY) notebooks/course.py check
	KERAS_BACKEND=torch $(PYTEST) tests
	KERAS_BACKEND=jax $(PYTEST) $(BACKEND_TESTS)
	KERAS_BACKEND=jax $(PYTEST) tests/notebooks -k "kernel and tp5 and not research"
	KERAS_BACKEND=tensorflow $(PYTEST) $(BACKEND_TESTS)
	KERAS_BACKEND=tensorflow $(PYTEST) tests/notebooks -k "kernel and tp5 and not research"

# The notebooks to hand out: every solution replaced by raise NotImplementedError() (notebooks/README.md).
STUDENT_DIR ?= student
student:
	$(PYTHON) notebooks/course.py student $(STUDENT_DIR)

# The slim serving image, built from a fresh clone with Debian's podman, run as a non-root container
# (/ready, HEALTHCHECK) and under deploy/kubernetes/pod.yaml with Prometheus (probes, /predict, a scrape);
# .ci/run runs it after the tests. Needs: apt-get install podman runc debootstrap catatonit.
test-image: install
	PYTHON=$(abspath $(PY)) bash tests/container/build_and_run.sh

# make bench BENCH_ARGS="--only tp2_suite --threads 1" re-measures a subset (see bench/run_all.py).
bench: install-test
	$(PY) bench/run_all.py $(BENCH_ARGS)

# Every lab record the docs quote, re-taken at this commit from a clean tree, then the docs regenerated:
# make records ONLY="tp1_fashion_mnist tp4_unet" re-takes some (bench/records.toml lists them, with minutes).
records: install-test
	$(PY) bench/rerecord.py $(ONLY)

# What the docs cannot quote at this commit (missing, dirty or stale records), with the commands that
# re-take them; the docs show each as "not measured at this commit" until then.
records-check: install-test
	$(PY) bench/render_results.py --check

paper: install
	$(DLTP) paper

clean:
	rm -rf $(VENV) build dist src/*.egg-info
