# medialens developer commands. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ARGS ?=

VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

# `sam validate` needs a Region even offline. Only the offline checks get a default: an
# exported one would outrank your profile's Region for deploy, preflight and e2e.
OFFLINE_REGION := eu-west-1
export SAM_CLI_TELEMETRY := 0

# sam build for the python3.13 runtime needs a python3.13 on PATH (pyenv's when present).
PY313_PREFIX := $(shell pyenv prefix 3.13 2>/dev/null || pyenv prefix 3.13.0 2>/dev/null)
BUILD_PATH := $(if $(PY313_PREFIX),$(PY313_PREFIX)/bin:,)$(PATH)
# Tests run on the Lambda runtime's Python when it is installed.
PYTHON ?= $(if $(PY313_PREFIX),$(PY313_PREFIX)/bin/python3.13,python3)
# The Spark job's tests also run on what EMR runs (jobs/requirements-emr-tests.txt): Python
# 3.9, AL2023's python3, where pyenv has it; EMR 7 also offers 3.11, the fallback.
EMR_PYTHON ?= $(shell for v in 3.9 3.11; do \
	  p=$$(pyenv prefix $$v 2>/dev/null) && [ -x "$$p/bin/python$$v" ] && echo "$$p/bin/python$$v" && break; \
	  command -v python$$v && break; done)
EMR_VENV ?= .venv-emr
EMR_STAMP := $(EMR_VENV)/.installed-$(shell cat jobs/requirements-emr-tests.txt jobs/requirements-emr.txt | cksum | cut -d' ' -f1)

FN ?= AnalyzeMediaFunction
EVENT ?= events/sqs_ingest_drops.json
STACK ?= medialens
ENV_VARS ?= .aws-sam/local_env.json

.PHONY: demo chat workflows backfill forget help venv js-deps lint typecheck validate pytest test test-fast test-emr-spark build bench load redrive local-env invoke deploy preflight e2e layer-requirements clean

demo: venv ## Analyse the bundled samples offline (ARGS=path/to/folder for your own images)
	$(BIN)/python -m medialens_local.demo $(ARGS)

chat: venv ## Chat with the Lex bot offline over the analysed samples (ARGS="--say 'help'" scripts it; ARGS=--web serves the web chat)
	$(BIN)/python -m medialens_local.chat $(ARGS)

workflows: venv ## The ML pipeline offline: export, Spark MLlib job, model training, Batch Transform, checks
	$(BIN)/python -m medialens_local.workflows $(ARGS)

backfill: venv ## Analyse objects already in the bucket offline: upload ARGS=<folder> unnoticed, backfill it twice
	$(BIN)/python -m medialens_local.backfill $(ARGS)

help: ## List the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,local]'
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP) ## Create or refresh the virtual environment from pyproject.toml

JS_STAMP := tests/js/node_modules/.installed
$(JS_STAMP): tests/js/package-lock.json
	npm ci --prefix tests/js --no-audit --no-fund
	touch $@

js-deps: ## The AWS SDK for JavaScript the offline tests drive the local Rekognition with (needs npm)
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(JS_STAMP); \
	else echo "npm not found: the JavaScript SDK tests will be skipped" >&2; fi

lint: venv ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv ## mypy (strict)
	$(BIN)/mypy

validate: export AWS_DEFAULT_REGION ?= $(OFFLINE_REGION)
validate: venv ## sam validate --lint, cfn-lint in every supported Region, layer requirements in sync, statelint
	$(BIN)/sam validate --lint --template template.yaml
	$(BIN)/python -m scripts.lint_template
	$(BIN)/python scripts/layer_requirements.py --check
	$(BIN)/python scripts/lint_state_machines.py

pytest: venv js-deps ## Every tier of tests/ (unit, contract, integration, offline, workflows, jobs, e2e)
	$(BIN)/python -m pytest

FAST_TIERS := unit contract integration
test-fast: venv ## The inner loop: the tiers that need no models, Spark or browser (under a minute)
	$(BIN)/python -m pytest -n auto -m "$(subst $() , or ,$(FAST_TIERS))" $(addprefix tests/,$(FAST_TIERS)) $(ARGS)

$(EMR_STAMP): jobs/requirements-emr-tests.txt jobs/requirements-emr.txt
	@[ -n "$(EMR_PYTHON)" ] || { echo "make test-emr-spark needs Python 3.9 or 3.11 (what EMR 7 runs): pyenv install 3.9" >&2; exit 1; }
	$(EMR_PYTHON) -m venv $(EMR_VENV)
	$(EMR_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r jobs/requirements-emr-tests.txt
	rm -f $(EMR_VENV)/.installed-* && touch $@

test-emr-spark: $(EMR_STAMP) ## The Spark job's tests on EMR's Spark and Python (jobs/requirements-emr-tests.txt)
	$(EMR_VENV)/bin/python --version
	$(EMR_VENV)/bin/python -m pytest --noconftest -p tests.jobs.spark_session tests/jobs

test: lint typecheck validate pytest test-emr-spark ## Everything CI checks, offline

build: venv ## sam build (python3.13, arm64 layer)
	PATH="$(BUILD_PATH)" $(BIN)/sam build --template template.yaml

bench: venv ## Every benchmark, written to docs/benchmarks.md (ARGS="'Offline mode'" measures one section again)
	$(BIN)/python -m bench $(ARGS)

load: venv ## Load benchmark offline: 2,000 drops, a 2,000-object backfill and a faults run against the quotas (docs/load.md)
	$(BIN)/python -m bench.load $(ARGS)

preflight: venv ## Before a deploy: does this account and Region have what the stack needs? (read-only AWS calls; ARGS="--region ... --subnet subnet-...")
	$(BIN)/python -m scripts.preflight $(ARGS)

e2e: venv ## The user journeys against a deployed stack (STACK=..., AWS credentials; costs: docs/deploying.md)
	$(BIN)/python -m pytest tests/e2e --stack $(STACK) $(ARGS)

forget: venv ## Erase everything about a person: PERSON=<id>, offline over the samples (ARGS="--stack NAME" for a deployed stack)
	@[ -n "$(PERSON)" ] || { echo "make forget needs PERSON=<person-id>" >&2; exit 2; }
	$(BIN)/python -m scripts.forget "$(PERSON)" $(ARGS)

redrive: venv ## Move the ingest dead-letter queue's messages back to the ingest queue (STACK=..., ARGS=--status)
	$(BIN)/python -m scripts.redrive $(STACK) $(ARGS)

local-env: venv ## Write $(ENV_VARS) from a deployed stack's outputs (STACK=..., AWS credentials)
	$(BIN)/python scripts/local_env.py $(STACK) $(ENV_VARS)

invoke: build ## sam local invoke FN=... EVENT=... against a deployed stack (Docker, `make local-env`)
	$(BIN)/sam local invoke $(FN) --event $(EVENT) --env-vars $(ENV_VARS)

deploy: build ## sam deploy --guided (needs AWS credentials)
	$(BIN)/sam deploy --guided

layer-requirements: venv ## Regenerate layers/medialens/requirements.txt from pyproject.toml
	$(BIN)/python scripts/layer_requirements.py

clean: ## Remove build output and caches
	rm -rf .aws-sam .mypy_cache .ruff_cache .pytest_cache out $(EMR_VENV)
