# Everything runs inside .venv; the only prerequisites are Python 3.11 and pip.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LLM_STAMP := $(VENV)/.installed-llm
DEMO_DIR ?= data/demo
export HF_HUB_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: install demo test test-main test-fast test-llm test-package lint browser bench eval clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# The CPU build of torch first, so nothing below pulls a CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The optional LLM back-ends and the small model their tests run. llama-cpp-python
# builds llama.cpp from source (about 4 minutes on 2 cores). Its default native build
# turns on ggml's AMX kernels on CPUs that have AMX, and there every answer crashed
# (SIGSEGV in ggml_backend_amx_mul_mat, llama-cpp-python 0.3.36, Xeon with AMX): it is
# built for x86-64 with AVX2 instead, and never from pip's cache, which may hold a native
# build of the same version.
$(LLM_STAMP): $(STAMP)
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install --quiet --no-cache-dir -e '.[llm]'
	$(BIN)/pip install --quiet -e '.[dev,llm,llm-test]'
	touch $(LLM_STAMP)

demo: $(STAMP)
	$(BIN)/newsbot --data-dir $(DEMO_DIR) ingest ingest/samples/sample_news.jsonl
	$(BIN)/newsbot --data-dir $(DEMO_DIR) serve

# The tiers of `make test`, each one shell command whose exit status is the tier's.
# PYTEST_ARGS goes to each pytest run (`make test PYTEST_ARGS=-x`).
TIER_lint = $(BIN)/ruff check bot ingest ui tests bench && \
	$(BIN)/ruff format --check bot ingest ui tests bench && $(BIN)/mypy
TIER_main = $(BIN)/pytest -q $(PYTEST_ARGS)
TIER_llm = $(MAKE) -s --no-print-directory $(LLM_STAMP) && $(BIN)/pytest -q -m llm $(PYTEST_ARGS)
TIER_package = $(BIN)/pytest -q -m package $(PYTEST_ARGS)
TIERS := lint main llm package

lint: $(STAMP)
	$(TIER_lint)

# The browser tests drive Debian's chromium (Playwright downloads no browser).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null || { \
	  echo "installing chromium for the browser tests (apt-get)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium; }

# Every tier, each run even when one before it failed; then one line per tier, and a
# non-zero exit status if any failed. Tests that need ../shared are skipped without it.
test: $(STAMP) browser
	@failed=0; summary=""; \
	$(foreach tier,$(TIERS),echo "== $(tier)"; ( $(TIER_$(tier)) ); code=$$?; \
	  if [ $$code -eq 0 ]; then summary="$${summary}$(tier): passed\n"; \
	  else summary="$${summary}$(tier): FAILED (exit $$code)\n"; failed=1; fi;) \
	printf "\n%b" "$$summary"; exit $$failed

# Everything but the LLM and package tests.
test-main: $(STAMP)
	$(TIER_main)

# The inner loop: no browser, no server processes, no language model (about a minute).
test-fast: $(STAMP)
	$(BIN)/pytest -q -m 'not slow and not llm and not package'

test-llm: $(LLM_STAMP)
	$(TIER_llm)

# The wheel `pip wheel .` builds, installed with the stock pip of a fresh venv (no extras),
# ingests the seed article and answers the seed question (about 3 minutes).
test-package: $(STAMP)
	$(TIER_package)

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# Answer quality on RealTimeQA DEV, the setting of the README figures: the whole corpus
# (ingested once, about 4 minutes, then reused), 300 questions, seed 0.
EVAL_ARGS ?= --corpus full --limit 300 --seed 0
eval: $(STAMP)
	$(BIN)/newsbot eval ../shared/data/realtimeqa-dev $(EVAL_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
