# gomodel-rs — build, run, test, lint.
#
#   make build     release binaries -> ./bin/gomodel, ./bin/gomodel-bedrock-emulator
#   make run       build, then run the gateway (./bin/gomodel) with your environment / config.yaml
#   make test      build, Rust tests, then the Python end-to-end suite (tests/e2e) against the binaries
#   make lint      rustfmt check + clippy with warnings as errors
#   make emulator  build, then run the Bedrock emulator on 127.0.0.1:4566 for manual use
#   make venv      (re)create .venv with the pinned packages in tests/requirements.txt
#   make docker    build the container image (gomodel:local)

SHELL        := /bin/bash
CARGO        ?= cargo
PYTHON       ?= python3
VENV         ?= .venv
TARGET_DIR   ?= $(or $(CARGO_TARGET_DIR),target)
BIN_DIR      := bin
EMULATOR_PORT ?= 4566
PYTEST_ARGS  ?=

VENV_PY      := $(VENV)/bin/python
VENV_STAMP   := $(VENV)/.requirements-installed

.PHONY: all build run test test-rust test-e2e lint fmt emulator venv docker clean

all: build

# gomodel builds on its own: built together with the emulator, Cargo unifies the features of
# shared dependencies (regex), which renames their symbols and those of everything above them,
# and the release link's function order (docs/symbol-order.md) would no longer match them.
build:
	$(CARGO) build --release -p gomodel
	$(CARGO) build --release -p bedrock-emulator
	@mkdir -p $(BIN_DIR)
	cp $(TARGET_DIR)/release/gomodel $(BIN_DIR)/gomodel
	cp $(TARGET_DIR)/release/gomodel-bedrock-emulator $(BIN_DIR)/gomodel-bedrock-emulator

run: build
	./$(BIN_DIR)/gomodel

test: build venv
	$(CARGO) test --workspace
	$(MAKE) --no-print-directory test-e2e

# The end-to-end suite alone, against the binaries in ./bin (run `make build` first).
test-e2e: venv
	GOMODEL_BIN=$(CURDIR)/$(BIN_DIR)/gomodel \
	EMULATOR_BIN=$(CURDIR)/$(BIN_DIR)/gomodel-bedrock-emulator \
	$(VENV_PY) -m pytest tests/e2e $(PYTEST_ARGS)

test-rust:
	$(CARGO) test --workspace

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

emulator: build
	./$(BIN_DIR)/gomodel-bedrock-emulator --port $(EMULATOR_PORT)

venv: $(VENV_STAMP)

$(VENV_STAMP): tests/requirements.txt
	@test -x $(VENV_PY) || $(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	@touch $@

docker:
	docker build -t gomodel:local .

clean:
	$(CARGO) clean
	rm -rf $(BIN_DIR)
