"""The demo's model learns its categories and genres: the whole `make demo` recipe on the embedded data,
judged by the evaluation classifiers (slow: about 12 minutes on 2 CPU cores; `make test-slow`)."""
from __future__ import annotations

import pytest

from audiofeat.cache import build_cache
from audiofeat.config import load_config as load_feature_config
from audiofeat.datasets.synthetic import OneShotsConfig, write_oneshots
from audiofeat.features import FeatureConfig
from gansynth_zoo import builders
from gansynth_zoo.config import load_config
from gansynth_zoo.evaluation.audio import evaluate_audio
from gansynth_zoo.training.run import run_training


@pytest.mark.slow
def test_demo_recipe_learns_every_subclass_and_both_genres(tmp_path):
    write_oneshots(tmp_path / "embedded", load_feature_config("pipelines/datasets/embedded.toml", OneShotsConfig))
    build_cache(tmp_path / "embedded" / "manifest.csv", tmp_path / "demo.h5",
                load_feature_config("pipelines/features/demo.toml", FeatureConfig))
    config = load_config("pipelines/configs/demo.toml", [f"data.path={tmp_path / 'demo.h5'}"])
    run_dir = run_training(config, out=tmp_path / "runs")
    result = evaluate_audio(run_dir, builders.build_data(config), samples_per_category=64,
                            classifier_steps=config.eval.classifier_steps, classifier_dir=tmp_path / "classifiers")
    assert result["conditional_accuracy"] >= 0.9
    assert min(result["conditional_accuracy_per_subclass"].values()) >= 0.75
    assert 0.5 <= result["pairwise_log_mag"] / result["pairwise_log_mag_real"] <= 2.0
    assert result["genre_accuracy"] >= 0.8 * result["genre_accuracy_real"]
