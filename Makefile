# sitegate: build, run and test the Rust Cloudflare Worker.
#
#   make tools    install every tool this project needs into .tools/ and node_modules/
#   make build    compile the worker with worker-build into build/
#   make dev      serve it locally with wrangler on http://127.0.0.1:8787
#   make test     host unit tests, clippy, rustfmt, wasm build, Miniflare tests
#   make token    print a development JWT (make -s token SUB=alice CLAIMS='{"roles":["admin"]}')
#   make clean    remove build outputs (make distclean also removes installed tools)
#
# Variants: `make build FEATURES=native-verify OUT_DIR=build-native` builds the
# worker with extra cargo features into another directory (default: none, build/).
#
# Nothing is downloaded by worker-build itself: wasm-bindgen comes from crates.io
# (cargo install, version read from Cargo.lock), esbuild and wasm-opt (binaryen)
# from npm, and their paths are handed to worker-build through *_BIN variables.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules --no-print-directory

ROOT := $(CURDIR)
TOOLS_DIR := $(ROOT)/.tools
CARGO_ROOT := $(TOOLS_DIR)/cargo
CARGO_BIN := $(CARGO_ROOT)/bin
NODE_BIN := $(ROOT)/node_modules/.bin

WASM_TARGET := wasm32-unknown-unknown
WORKER_BUILD_VERSION := 0.8.7
# The wasm-bindgen CLI must match the wasm-bindgen library exactly: read it from Cargo.lock.
WASM_BINDGEN_VERSION := $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/^version = "\(.*\)"$$/\1/p;q;}' Cargo.lock 2>/dev/null)

# Build variant: extra cargo features (comma or space separated) and output directory.
FEATURES ?=
OUT_DIR ?= build
OUT := $(patsubst %/,%,$(OUT_DIR))

# Tools installed here come first; the project's node tools (wrangler, esbuild, ...) next.
export PATH := $(CARGO_BIN):$(NODE_BIN):$(PATH)
# No telemetry, no error-report prompts, no Request.cf download from Cloudflare.
export WRANGLER_SEND_METRICS := false
export WRANGLER_SEND_ERROR_REPORTS := false
export CLOUDFLARE_CF_FETCH_ENABLED := false
# worker-build's downloads are replaced by these binaries.
export WASM_BINDGEN_BIN := $(CARGO_BIN)/wasm-bindgen
export ESBUILD_BIN := $(ROOT)/node_modules/esbuild/bin/esbuild
export WASM_OPT_BIN := $(ROOT)/node_modules/binaryen/bin/wasm-opt

NPM_STAMP := node_modules/.package-lock.json
RUST_SOURCES := $(shell find src -type f 2>/dev/null) Cargo.toml Cargo.lock
BUILD_ENTRY := $(OUT)/index.js
BUILD_CONFIG := $(OUT)/.build-config

.PHONY: help tools rust-target worker-build wasm-bindgen build dev test rust-checks \
	node-test token clean distclean FORCE

# help: list the targets (default goal).
help:
	@sed -n '1,12s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

# tools: install whatever is missing (idempotent; a second run installs nothing).
tools: rust-target worker-build wasm-bindgen $(NPM_STAMP)

# rust-target: the wasm32 standard library (and clippy, rustfmt) for the active rustup toolchain.
rust-target:
	@rustup target list --installed | grep -qx '$(WASM_TARGET)' \
	  || rustup target add '$(WASM_TARGET)' >&2
	@installed="$$(rustup component list --installed)"; for c in clippy rustfmt; do \
	  grep -q "^$$c-" <<<"$$installed" || rustup component add "$$c" >&2; done

# worker-build: the workers-rs build tool, pinned to the worker crate's version.
worker-build:
	@if [[ "$$('$(CARGO_BIN)/worker-build' --version 2>/dev/null)" != '$(WORKER_BUILD_VERSION)' ]]; then \
	  echo 'installing worker-build $(WORKER_BUILD_VERSION) into .tools/cargo' >&2; \
	  cargo install --locked --force --root '$(CARGO_ROOT)' worker-build --version '$(WORKER_BUILD_VERSION)' >&2; \
	fi

# wasm-bindgen: the CLI at the version Cargo.lock pins for the wasm-bindgen library.
# (No --locked: one of its locked dependencies is no longer on the registry.)
wasm-bindgen:
	@test -n '$(WASM_BINDGEN_VERSION)' || { echo 'wasm-bindgen not found in Cargo.lock' >&2; exit 1; }
	@if [[ "$$('$(WASM_BINDGEN_BIN)' --version 2>/dev/null)" != 'wasm-bindgen $(WASM_BINDGEN_VERSION)' ]]; then \
	  echo 'installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION) into .tools/cargo' >&2; \
	  cargo install --force --root '$(CARGO_ROOT)' wasm-bindgen-cli --version '$(WASM_BINDGEN_VERSION)' >&2; \
	fi

# node_modules: `npm ci` from the committed lock file when missing or out of date.
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# build: compile the worker to $(OUT_DIR)/ (index.js + index_bg.wasm); skipped when up to date.
build: $(BUILD_ENTRY)

$(BUILD_ENTRY): $(RUST_SOURCES) $(BUILD_CONFIG) | tools
	worker-build --release --out-dir '$(OUT)' $(if $(strip $(FEATURES)),--features '$(strip $(FEATURES))')
	@touch $@

# Records the variant's settings; rewritten (forcing a rebuild) only when they change.
$(BUILD_CONFIG): FORCE
	@mkdir -p '$(@D)'
	@printf 'features=%s\nworker-build=%s\nwasm-bindgen=%s\n' '$(strip $(FEATURES))' \
	  '$(WORKER_BUILD_VERSION)' '$(WASM_BINDGEN_VERSION)' > '$@.new'
	@if cmp -s '$@.new' '$@'; then rm '$@.new'; else mv '$@.new' '$@'; fi

# dev: build, then serve locally with wrangler on http://127.0.0.1:8787.
# wrangler.toml's [build] command is `make build`, so edits under src/ rebuild and reload.
dev: tools build
	wrangler dev --local --ip 127.0.0.1 --port 8787 $(if $(filter-out build,$(OUT)),'$(OUT)/index.js')

# test: everything CI checks; stops at the first failure.
test: tools rust-checks build node-test

# rust-checks: host unit tests, clippy (host and wasm32), rustfmt.
rust-checks: tools
	cargo test
	cargo clippy --all-targets -- -D warnings
	cargo clippy --lib --target '$(WASM_TARGET)' -- -D warnings
	cargo fmt --check

# node-test: the Miniflare tests in tests/*.test.mjs against the built worker.
node-test: build
	node --test tests/

# token: print a fresh development JWT and nothing else (use with make -s).
token: export TOKEN_SUB := $(value SUB)
token: export TOKEN_CLAIMS := $(value CLAIMS)
token:
	@node scripts/token.mjs $${TOKEN_SUB:+--sub "$$TOKEN_SUB"} $${TOKEN_CLAIMS:+--claims "$$TOKEN_CLAIMS"} $(ARGS)

# clean: remove worker builds, wrangler state and cargo's target/ (keeps installed tools).
clean:
	rm -rf build build-* .wrangler
	cargo clean

# distclean: clean, and remove the installed tools (.tools/, node_modules/).
distclean: clean
	rm -rf .tools node_modules

FORCE:
