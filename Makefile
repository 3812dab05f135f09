# Fresh machine: `make demo` or `make test`. Both create .venv and install mvd into it.
PYTHON ?= python3
VENV ?= .venv
# This machine takes torch's CPU wheel from disk; CUDA users: make install TORCH="torch==2.13.0+cu128 ..."
TORCH ?= torch==2.13.0
EXTRAS ?= all,test
DEMO_DIR ?= outputs/demo
BIN := $(VENV)/bin
STAMP := $(VENV)/.mvd-installed

.PHONY: install demo test test-fast mutate reproduce clean

install: $(STAMP)

# Re-run only when the venv is missing or the dependencies changed (idempotent).
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]"
	# Optuna's Hydra sweeper pins optuna<3 but runs on the Optuna mvd tunes with; its pin is stale
	$(BIN)/python -m pip install -q --no-deps "hydra-optuna-sweeper==1.3.0"
	touch $(STAMP)

demo: install
	$(BIN)/mvd experiment=quickstart results_dir=$(DEMO_DIR)
	@echo
	@echo "points:  $(DEMO_DIR)/quickstart/points/  (mvd.store.load('$(DEMO_DIR)/quickstart'))"
	@test ! -f $(DEMO_DIR)/quickstart/report.md || echo "report:  $(DEMO_DIR)/quickstart/report.html  (summary: $(DEMO_DIR)/quickstart/summary.json)"

# one pytest-xdist worker per core (TEST_JOBS=0: one process); a file whose tests share a module
# fixture (a cluster, a reference run) stays on one worker (xdist_group)
TEST_JOBS ?= auto
test: install
	WANDB_MODE=disabled $(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadgroup

# The inner loop: every test but those marked slow (under a minute on an idle 2-core machine); CI runs all.
test-fast: install
	WANDB_MODE=disabled $(BIN)/python -m pytest -m "not slow" -n $(TEST_JOBS) --dist loadgroup

# Mutation testing (mutmut, pinned in the dev extra) of the modules the numbers rest on. Each module
# is mutated in its own scratch copy, build/mutate/<module>/ (the working tree is never touched), and
# its mutants run only its own tests: tests/test_<module>*.py, and for the report's modules
# test_report.py and test_report_guards.py too; tests marked slow are left out (MUTATE_MARK=, to keep
# them). One module: make mutate MUTATE=metrics. Each module prints its counts by status; the
# survivors: cd build/mutate/metrics && ../../../.venv/bin/mutmut results, then mutmut show <name>.
MUTATE ?= metrics splits quality cleaning report/equivalence report/attribution report/business
MUTATE_JOBS ?= 2
MUTATE_MARK ?= not slow
mutate: install
	@$(BIN)/mutmut --version >/dev/null 2>&1 || $(BIN)/python -m pip install -q -e ".[dev]"
	@set -e; for m in $(MUTATE); do \
	  case $$m in report/*) t="tests/test_report.py tests/test_report_guards.py $$(ls tests/test_$${m#report/}*.py 2>/dev/null || true)";; \
	    *) t=$$(ls tests/test_$$m*.py);; esac; \
	  d=build/mutate/$$(echo $$m | tr / -); rm -rf $$d; mkdir -p $$d; \
	  cp -r src conf experiments tests pyproject.toml $$d/; \
	  printf '[mutmut]\nsource_paths = src\nalso_copy =\n  conf\n  experiments\nonly_mutate = src/mvd/%s.py\npytest_add_cli_args_test_selection =\n' $$m > $$d/setup.cfg; \
	  for f in $$t; do printf '  %s\n' $$f >> $$d/setup.cfg; done; \
	  test -z "$(MUTATE_MARK)" || printf 'pytest_add_cli_args =\n  -m\n  %s\n' "$(MUTATE_MARK)" >> $$d/setup.cfg; \
	  echo "mutate src/mvd/$$m.py with $$t (log: $$d/mutmut.log)"; \
	  (cd $$d && WANDB_MODE=disabled $(abspath $(BIN))/mutmut run --max-children $(MUTATE_JOBS) > mutmut.log 2>&1 || true; \
	   $(abspath $(BIN))/mutmut results --all true > results.txt; \
	   awk -F': ' -v m=$$m '{n[$$2]++; t++} END {printf "%s: %d mutants:", m, t; for (s in n) printf " %s %d", s, n[s]; print ""}' results.txt); \
	done

# Refit N random committed points of a study from their stored configs (metrics must be equal) and
# rebuild its summary.json (equal up to the last bits where another CPU's math kernels differ; see
# src/mvd/reproduce.py): make reproduce STUDY=quickstart N=50 (STUDY=all: every committed study, i.e. a
# results/ folder whose summary.json git tracks). A study whose data files are missing is skipped and named
# with where they come from; MVD_DATA defaults to ../shared/data when the checkout has it beside it.
STUDY ?= all
N ?= 50
reproduce: install
	MVD_DATA="$${MVD_DATA:-$$(cd ../shared/data 2>/dev/null && pwd)}" \
	  $(BIN)/python -m mvd.reproduce $(if $(filter all,$(STUDY)),--all,results/$(STUDY)) --n $(N)

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache
