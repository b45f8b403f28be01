# The README's commands. `make run` and `make test` create .venv and install on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
N ?= 20000

.PHONY: install run test bench lint clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, from the local CPU wheel: installing it through another package pulls CUDA.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(VENV)/bin/voc run

test: install
	$(VENV)/bin/pytest -q

bench: install
	$(PY) benchmarks/bench_sentiment.py -n $(N)
	$(PY) benchmarks/bench_flow.py --n $(N)

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf data/out
