# make example/test/bench/data/...: each target creates .venv on first use and reuses it afterwards.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is pinned in the same pip command: a bare torch requirement would pull a CUDA build.
TORCH ?= torch==2.13.0
STAMP := $(VENV)/.installed-dev
# The synthetic drum corpus renders these Debian packages' sampled kits (SF2 soundfonts, Hydrogen drumkits);
# SOUNDFONTS holds a file of each: one missing installs them all.
DEBIAN_PACKAGES := avldrums.lv2-soundfont fluid-soundfont-gm hydrogen-drumkits hydrogen-data \
	musescore-general-soundfont-lossless
SOUNDFONTS := /usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2 /usr/share/sounds/sf2/FluidR3_GM.sf2 \
	/usr/share/hydrogen/data/drumkits/BJA_Pacific/drumkit.xml /usr/share/hydrogen/data/drumkits/GMRockKit/drumkit.xml \
	/usr/share/sounds/sf2/MuseScore_General_Full.sf2
# The browser the demo's browser test drives (tests/test_app.py uses this path).
CHROMIUM := /usr/bin/chromium

# The Space's link to a model page: the Hub repo id the default model was pushed to
# (`mixwave push mixwave_hf/pretrained ORG/NAME`), written to its README front matter (`models:`).
# Empty: the Space links no model repo (it runs the model embedded in the package either way).
SPACE_MODEL ?=

.PHONY: venv test lint bench example example-stems data system-packages browser clean demo space

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' $(TORCH)
	$(BIN)/pip install --quiet --no-deps tinysoundfont
	touch $(STAMP)

venv: $(STAMP)

# Installs the kits' packages when a file of one is missing (needs root, as on CI; otherwise it prints the command).
system-packages:
	@for font in $(SOUNDFONTS); do test -f $$font || missing=1; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PACKAGES); \
		else echo "run: sudo apt-get install $(DEBIAN_PACKAGES)"; exit 1; fi; \
	fi

data: system-packages venv

# The demo's browser test drives Debian's chromium through playwright (no browser download): installed
# when missing, as the soundfonts are (needs root, as on CI; otherwise it prints the command).
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else echo "run: sudo apt-get install chromium (for the demo's browser test)"; exit 1; fi; \
	fi

test: data browser
	$(BIN)/ruff check mixwave_hf tests bench app.py train_accelerate.py space tools
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check mixwave_hf tests bench app.py train_accelerate.py space tools

bench: data
	$(BIN)/python -m bench.run

# Serve the web demo on the default model (MODEL=DIR_OR_REPO for another); Gradio prints the URL,
# http://127.0.0.1:7860 unless GRADIO_SERVER_NAME / GRADIO_SERVER_PORT say otherwise.
demo: venv
	GRADIO_ANALYTICS_ENABLED=False HF_HUB_DISABLE_TELEMETRY=1 $(BIN)/python app.py $(if $(MODEL),--model $(MODEL))

# Assemble the Hugging Face Space folder build/space (app.py, requirements.txt, README.md, the package
# unpacked from its wheel; SPACE_MODEL=ORG/NAME links the model page).
space: venv
	rm -rf build/space build/space-wheel
	$(BIN)/python -m build --wheel --no-isolation --outdir build/space-wheel .
	$(BIN)/python space/assemble.py build/space --wheel $$(ls build/space-wheel/mixwave_hf-*.whl) \
		$(if $(SPACE_MODEL),--model-id $(SPACE_MODEL))

# Mix the bundled example stems with the default model embedded in the package.
example: venv
	$(BIN)/mixwave mix mixwave_hf/examples/drums -o build/example_mix.wav

example-stems: data
	$(BIN)/mixwave data example mixwave_hf/examples/drums

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
