# make demo/test/bench/...: each target creates .venv on first use and reuses it afterwards.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is pinned in the same pip command: a bare torch requirement would pull a CUDA build.
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed-dev

.PHONY: venv test lint bench example example-stems clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' $(TORCH)
	touch $(STAMP)

venv: $(STAMP)

test: venv
	$(BIN)/ruff check mixwave_hf tests bench
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check mixwave_hf tests bench

bench: venv
	$(BIN)/python bench/inference.py

# Mix the bundled example stems. Until trained weights ship, this uses a randomly initialised
# model written to build/untrained-model: it shows the pipeline, not a good mix.
example: venv
	test -f build/untrained-model/model.safetensors || \
		$(BIN)/python -c "import torch; from mixwave_hf import MixWaveUNet; torch.manual_seed(0); MixWaveUNet().save_pretrained('build/untrained-model')"
	$(BIN)/mixwave mix mixwave_hf/examples/drums -o build/example_mix.wav --model build/untrained-model

example-stems: venv
	$(BIN)/python -m mixwave_hf.example mixwave_hf/examples/drums

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
