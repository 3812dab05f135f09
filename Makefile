# Fresh machine: `make demo` or `make test`. Both create .venv and install mvd into it.
PYTHON ?= python3
VENV ?= .venv
# This machine takes torch's CPU wheel from disk; CUDA users: make install TORCH="torch==2.13.0+cu128 ..."
TORCH ?= torch==2.13.0
EXTRAS ?= all,test
DEMO_DIR ?= outputs/demo
BIN := $(VENV)/bin
STAMP := $(VENV)/.mvd-installed

.PHONY: install demo test reproduce clean

install: $(STAMP)

# Re-run only when the venv is missing or the dependencies changed (idempotent).
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]"
	touch $(STAMP)

demo: install
	$(BIN)/mvd experiment=quickstart results_dir=$(DEMO_DIR)
	@echo
	@echo "points:  $(DEMO_DIR)/quickstart/points/  (mvd.store.load('$(DEMO_DIR)/quickstart'))"
	@test ! -f $(DEMO_DIR)/quickstart/report.md || echo "report:  $(DEMO_DIR)/quickstart/report.html  (summary: $(DEMO_DIR)/quickstart/summary.json)"

test: install
	WANDB_MODE=disabled $(BIN)/python -m pytest

# Refit N random committed points of a study from their stored configs (metrics must be equal) and
# rebuild its summary.json byte for byte: make reproduce STUDY=quickstart N=50 (STUDY=all: every study)
STUDY ?= all
N ?= 50
reproduce: install
	$(BIN)/python -m mvd.reproduce $(if $(filter all,$(STUDY)),$(wildcard results/*/),results/$(STUDY)) --n $(N)

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache
