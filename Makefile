# medialens developer commands. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ARGS ?=

VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

# `sam validate` needs a region even offline; deploys take yours from samconfig/--region.
export AWS_DEFAULT_REGION ?= eu-west-1
export SAM_CLI_TELEMETRY := 0

# sam build for the python3.13 runtime needs a python3.13 on PATH (pyenv's when present).
PY313_PREFIX := $(shell pyenv prefix 3.13 2>/dev/null || pyenv prefix 3.13.0 2>/dev/null)
BUILD_PATH := $(if $(PY313_PREFIX),$(PY313_PREFIX)/bin:,)$(PATH)
# Tests run on the Lambda runtime's Python when it is installed.
PYTHON ?= $(if $(PY313_PREFIX),$(PY313_PREFIX)/bin/python3.13,python3)

FN ?= AnalyzeMediaFunction
EVENT ?= events/s3_put_upload.json
STACK ?= medialens
ENV_VARS ?= .aws-sam/local_env.json

.PHONY: demo chat workflows help venv lint typecheck validate pytest test build bench local-env invoke deploy layer-requirements clean

demo: venv ## Analyse the bundled samples offline (ARGS=path/to/folder for your own images)
	$(BIN)/python -m medialens_local.demo $(ARGS)

chat: venv ## Chat with the Lex bot offline over the analysed samples (ARGS="--say 'help'" scripts it)
	$(BIN)/python -m medialens_local.chat $(ARGS)

workflows: venv ## The ML pipeline offline: export, Spark MLlib job, model training, Batch Transform, checks
	$(BIN)/python -m medialens_local.workflows $(ARGS)

help: ## List the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,local]'
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP) ## Create or refresh the virtual environment from pyproject.toml

lint: venv ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv ## mypy (strict)
	$(BIN)/mypy

validate: venv ## sam validate --lint, cfn-lint, layer requirements in sync, statelint
	$(BIN)/sam validate --lint --template template.yaml
	$(BIN)/cfn-lint template.yaml
	$(BIN)/python scripts/layer_requirements.py --check
	$(BIN)/python scripts/lint_state_machines.py

pytest: venv ## unit, contract and integration tests
	$(BIN)/python -m pytest

test: lint typecheck validate pytest ## Everything CI checks, offline

build: venv ## sam build (python3.13, arm64 layer)
	PATH="$(BUILD_PATH)" $(BIN)/sam build --template template.yaml

bench: venv ## Cold-start, per-record overhead and package-size benchmarks
	$(BIN)/python -m bench

local-env: venv ## Write $(ENV_VARS) from a deployed stack's outputs (STACK=..., AWS credentials)
	$(BIN)/python scripts/local_env.py $(STACK) $(ENV_VARS)

invoke: build ## sam local invoke FN=... EVENT=... against a deployed stack (Docker, `make local-env`)
	$(BIN)/sam local invoke $(FN) --event $(EVENT) --env-vars $(ENV_VARS)

deploy: build ## sam deploy --guided (needs AWS credentials)
	$(BIN)/sam deploy --guided

layer-requirements: venv ## Regenerate layers/medialens/requirements.txt from pyproject.toml
	$(BIN)/python scripts/layer_requirements.py

clean: ## Remove build output and caches
	rm -rf .aws-sam .mypy_cache .ruff_cache .pytest_cache out
