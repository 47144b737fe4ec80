# make example/test/bench/data/...: each target creates .venv on first use and reuses it afterwards.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is pinned in the same pip command: a bare torch requirement would pull a CUDA build.
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed-dev
# The synthetic drum corpus renders these Debian packages' sampled kits.
DEBIAN_PACKAGES := avldrums.lv2-soundfont fluid-soundfont-gm
SOUNDFONTS := /usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2 /usr/share/sounds/sf2/FluidR3_GM.sf2

.PHONY: venv test lint bench example example-stems data system-packages clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' $(TORCH)
	$(BIN)/pip install --quiet --no-deps tinysoundfont
	touch $(STAMP)

venv: $(STAMP)

# Installs the soundfonts when missing (needs root, as on CI; otherwise it prints the command).
system-packages:
	@for font in $(SOUNDFONTS); do test -f $$font || missing=1; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PACKAGES); \
		else echo "run: sudo apt-get install $(DEBIAN_PACKAGES)"; exit 1; fi; \
	fi

data: system-packages venv

test: data
	$(BIN)/ruff check mixwave_hf tests bench
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check mixwave_hf tests bench

bench: data
	$(BIN)/python -m bench.run

# Mix the bundled example stems. Until trained weights ship, this uses a randomly initialised
# model written to build/untrained-model: it shows the pipeline, not a good mix.
example: venv
	test -f build/untrained-model/model.safetensors || \
		$(BIN)/python -c "import torch; from mixwave_hf import MixWaveUNet; torch.manual_seed(0); MixWaveUNet().save_pretrained('build/untrained-model')"
	$(BIN)/mixwave mix mixwave_hf/examples/drums -o build/example_mix.wav --model build/untrained-model

example-stems: data
	$(BIN)/python -m mixwave_hf.data.synth --example mixwave_hf/examples/drums

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
