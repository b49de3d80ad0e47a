# sitegate: build, run and test the Rust Cloudflare Worker.
#
#   make tools    install every tool this project needs into .tools/ and node_modules/
#   make build    compile the worker with worker-build into build/
#   make dev      serve it locally with wrangler on http://127.0.0.1:8787
#   make test     host unit tests, clippy, rustfmt, wasm build, Miniflare tests
#   make token    print a development JWT (make -s token SUB=alice CLAIMS='{"roles":["admin"]}')
#   make bench    the benchmark against Hono and a bare worker; writes BENCHMARKS.md
#   make clean    remove build outputs (make distclean also removes installed tools)
#
# Variants: `make build FEATURES=native-verify OUT_DIR=build-native` builds the
# worker with extra cargo features into another directory (default: none, build/);
# `make test` / `make dev` with the same variables test / serve that variant.
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
TOOLS_DIR ?= $(ROOT)/.tools
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
# make dev serves on 127.0.0.1:$(DEV_PORT).
DEV_PORT ?= 8787
CARGO_FEATURES := $(if $(strip $(FEATURES)),--features '$(strip $(FEATURES))')

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
# Directories too, so that deleting a source file also triggers a rebuild.
RUST_SOURCES := $(shell find src 2>/dev/null) Cargo.toml Cargo.lock
BUILD_ENTRY := $(OUT)/index.js
BUILD_CONFIG := $(OUT)/.build-config

.PHONY: help tools rust-target worker-build wasm-bindgen build dev test rust-checks \
	node-test native-build bench token clean distclean FORCE

# help: list the targets (default goal).
help:
	@sed -n '1,14s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

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

# build: compile the worker to $(OUT_DIR)/ (index.js, worker/shim.mjs, worker/index.wasm) with
# src/edge/entry.js as its JS entry point; skipped when up to date.
build: $(BUILD_ENTRY)

$(BUILD_ENTRY): $(RUST_SOURCES) $(BUILD_CONFIG) $(NPM_STAMP) | tools
	CUSTOM_SHIM='$(ROOT)/src/edge/entry.js' worker-build --release --out-dir '$(OUT)' $(CARGO_FEATURES)
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
	wrangler dev --local --ip 127.0.0.1 --port $(DEV_PORT) $(if $(filter-out build,$(OUT)),'$(OUT)/index.js')

# test: everything CI checks; stops at the first failure.
test: tools rust-checks build node-test

# rust-checks: host unit tests, clippy (host, and wasm32 for the worker-only code), rustfmt.
rust-checks: tools
	cargo test $(CARGO_FEATURES)
	cargo clippy --all-targets $(CARGO_FEATURES) -- -D warnings
	cargo clippy --lib --target '$(WASM_TARGET)' $(CARGO_FEATURES) -- -D warnings
	cargo clippy --lib --target '$(WASM_TARGET)' --features native-verify -- -D warnings
	cargo fmt --check

# node-test: the Miniflare tests in tests/*.test.mjs against the built worker ($(OUT_DIR)/).
node-test: build native-build
	SITEGATE_BUILD_DIR='$(OUT)' node --test tests/

# native-build: the variant verifying with jwt-compact in wasm, which tests/crosscheck.test.mjs
# runs beside the Web Crypto build on the same tokens.
native-build:
	@$(MAKE) build FEATURES=native-verify OUT_DIR=build-native

BENCH_NPM_STAMP := bench/node_modules/.package-lock.json

# bench: build sitegate (+ native-verify) and the peers, load them all in one workerd on
# 127.0.0.1, drive them with autocannon, write BENCHMARKS.md (~9 min on 2 cores; settings
# BENCH_SECONDS, BENCH_ROUNDS, ... are listed at the top of bench/run.mjs). Not part of test.
bench: tools $(BENCH_NPM_STAMP)
	node bench/run.mjs

# bench/node_modules: `npm ci` from bench/package-lock.json when missing or out of date.
$(BENCH_NPM_STAMP): bench/package.json bench/package-lock.json
	npm ci --prefix bench --no-audit --no-fund
	@touch $@

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
