# tokenpixel: the few commands a person runs. CI (.ci/run) calls `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo

.PHONY: all build test demo lint rust-test wasm-check bench vectors clean help

all: build

help:
	@echo "make demo    - run the sample agent pipeline: write .checkpoints/, verify, summarize"
	@echo "make test    - every test and lint (Rust native + wasm32)"
	@echo "make build   - release build of the core"
	@echo "make bench   - emit/verify benchmark against raw SHA-256"
	@echo "make vectors - regenerate tests/vectors/*.json from Rust"

build:
	$(CARGO) build --release --workspace

demo:
	$(CARGO) run --quiet --release -p tokenpixel-core --example demo

test: lint rust-test wasm-check

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

rust-test:
	$(CARGO) test --workspace

# The core must build for the browser too (no IO, no clock, no OS randomness).
wasm-check:
	@rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
		|| rustup target add wasm32-unknown-unknown
	$(CARGO) build -p tokenpixel-core --target wasm32-unknown-unknown --release

bench:
	$(CARGO) bench -p tokenpixel-core --bench chain

vectors:
	$(CARGO) run -p tokenpixel-core --example gen_vectors

clean:
	$(CARGO) clean
	rm -rf .checkpoints
