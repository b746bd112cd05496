"""The committed artifacts agree with themselves and, where the dataset is present, with it."""

import dataclasses
import json

import numpy as np
import pytest

from conftest import needs_dataset
from core import artifacts, paths
from core.data.dataset import CLASS_NAMES, PROBABILITY_COLUMNS, TEST_SPLIT, find_samples
from core.data.decode import load_images
from core.evaluation.evaluate import metrics_from_predictions
from core.models import registry

TEST_IMAGES = 1311  # the Kaggle release's Testing split
SHIPPED = artifacts.available_models()


def make_train_seeds(name: str) -> int:
    """How many runs of `name` `make train` trains (its --seeds; one without)."""
    for line in (paths.ROOT / "Makefile").read_text().splitlines():
        words = line.split()
        if "-m" in words and words[words.index("-m") + 1 :][:2] == ["core", "train"] and name in words:
            return int(words[words.index("--seeds") + 1]) if "--seeds" in words else 1
    raise AssertionError(f"make train does not train {name}")


def test_every_registered_model_is_shipped():
    assert registry.names() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_each_model_was_trained_with_its_current_recipe(name):
    assert artifacts.load_config(name) == registry.get(name).config
    # The training command as `python -m core` spells it, or as it was spelt before (python -m core.train).
    assert artifacts.load_manifest(name)["command"].startswith(
        ("python -m core train", "python -m core.train")
    )


@pytest.mark.parametrize("name", SHIPPED)
def test_each_model_ships_its_runs_over_seeds_on_one_validation_split(name):
    runs = artifacts.seed_runs(name)
    expected = make_train_seeds(name)
    assert len(runs) == expected
    manifests = [json.loads((folder / "manifest.json").read_text()) for folder in runs]
    assert [m["seed"] for m in manifests] == list(range(42, 42 + expected))
    assert len({m["dataset"]["validation_images"] for m in manifests}) == 1
    predictions = artifacts.load_run_predictions(name)
    answers = [table[PROBABILITY_COLUMNS].to_numpy() for table in predictions.values()]
    assert all(not np.allclose(answers[0], other) for other in answers[1:])  # distinct runs


def test_leave_one_source_out_ran_every_shipped_model_with_its_recipe_on_every_fold():
    from core.studies.crosssource import FOLDS, short

    summary = artifacts.load_crosssource()
    assert list(summary.folds) == list(FOLDS)
    for fold in FOLDS:
        entry = summary.folds[fold]
        assert sorted(entry.models) == sorted(SHIPPED)  # the control too, as `make train` runs it
        for name, figures in entry.models.items():
            assert figures.config == dataclasses.asdict(short(registry.get(name).config))
            assert figures.held_out_images == entry.held_out_images
            assert sum(map(sum, figures.confusion)) == figures.held_out_images


def test_localisation_scores_every_shipped_model_and_method_on_every_boxed_test_image():
    from core.serving.gradcam import METHODS

    summary, table = artifacts.load_localisation()
    assert summary["images"]["full"] == 389  # the box file's Testing rows
    assert sorted(summary["models"]) == sorted(SHIPPED)
    assert all(sorted(by_method) == sorted(METHODS) for by_method in summary["models"].values())
    assert len(table) == 389 * len(SHIPPED) * len(METHODS)
    for name, by_method in summary["models"].items():
        rows = table[(table["model"] == name) & (table["method"] == METHODS[0])]
        assert by_method[METHODS[0]]["full"]["pointing"]["estimate"] == pytest.approx(rows["pointing"].mean())


def test_the_source_table_covers_every_image_and_every_figshare_box():
    provenance = artifacts.load_provenance()
    test_counts = provenance["counts"][TEST_SPLIT]
    assert sum(sum(by_class.values()) for by_class in test_counts.values()) == TEST_IMAGES
    assert len(provenance["test_sources"]) == TEST_IMAGES
    assert sum(test_counts["figshare"].values()) == 389  # the box file's Testing rows
    assert 0.5 < provenance["inference"]["figshare_recall"] <= 1


def test_the_validation_split_has_no_near_duplicate_in_the_fitted_part():
    leak = artifacts.load_audit()["validation_split"]
    assert leak["grouped"]["near"] == 0 < leak["by image"]["near"]


@pytest.mark.parametrize("name", SHIPPED)
def test_metrics_json_is_what_predictions_csv_says(name):
    metrics = artifacts.load_metrics(name)
    recomputed = metrics_from_predictions(artifacts.load_predictions(name))
    for key in ("n_images", "accuracy", "macro_f1", "weighted_f1", "roc_auc_ovr"):
        assert getattr(recomputed, key) == pytest.approx(getattr(metrics, key), abs=1e-6), key
    assert recomputed.confusion_matrix == metrics.confusion_matrix
    for cls, scores in metrics.per_class.items():
        assert dataclasses.astuple(recomputed.per_class[cls]) == pytest.approx(dataclasses.astuple(scores)), (
            cls
        )


@pytest.mark.parametrize("name", SHIPPED)
def test_every_test_image_is_listed_exactly_once(name):
    table = artifacts.load_predictions(name)
    assert len(table) == TEST_IMAGES and table["path"].is_unique
    assert set(table["true_label"]) == set(CLASS_NAMES)
    assert table["path"].str.startswith(f"{TEST_SPLIT}/").all()
    np.testing.assert_allclose(table[PROBABILITY_COLUMNS].sum(axis=1), 1.0, atol=1e-4)


@pytest.mark.parametrize("name", SHIPPED)
def test_validation_predictions_come_from_training_and_set_the_guard_threshold(name):
    from core.serving.ood import QUANTILE, SCORE_COLUMN, load_guard

    validation = artifacts.load_predictions(name, split="validation")
    manifest = artifacts.load_manifest(name)
    assert len(validation) == manifest["dataset"]["validation_images"]
    assert validation["path"].str.startswith("Training/").all()
    # The threshold is the QUANTILE of the validation scores.
    flagged = (validation[SCORE_COLUMN] > load_guard(name).threshold).mean()
    assert abs(flagged - (1 - QUANTILE)) < 0.002


@pytest.mark.parametrize("name", SHIPPED)
def test_recorded_facts_match_the_files(name):
    metrics, manifest = artifacts.load_metrics(name), artifacts.load_manifest(name)
    model_file = artifacts.model_dir(name) / artifacts.MODEL_FILE
    assert metrics.model.file_size_mb == pytest.approx(model_file.stat().st_size / 1e6)
    assert manifest["dataset"]["test_fingerprint"] == metrics.test_fingerprint
    assert manifest["wall_time_s"]["total"] > 0
    history = artifacts.load_history(name)
    assert history["phases"][-1]["last_epoch"] == len(history["epochs"])


@needs_dataset
@pytest.mark.parametrize("name", SHIPPED)
def test_predictions_cover_the_dataset_and_reproduce(name):
    samples = find_samples(paths.data_dir(), TEST_SPLIT)
    table = artifacts.load_predictions(name).set_index("path")
    assert set(table.index) == {s.relpath for s in samples}
    # Re-predict a few images per class with the saved model.
    config = artifacts.load_config(name)
    picked = [s for label in range(len(CLASS_NAMES)) for s in samples if s.label == label][::100]
    images, _, kept, _ = load_images(picked, config.image_size)
    probabilities = artifacts.load_model(name).predict(images.astype(np.float32), verbose=0)
    expected = table.loc[[s.relpath for s in kept], PROBABILITY_COLUMNS].to_numpy()
    np.testing.assert_allclose(probabilities, expected, atol=1e-4)


@pytest.mark.parametrize("name", SHIPPED)
def test_gradcam_reaches_the_last_conv_layer_of_each_saved_model(name):
    from conftest import make_scan
    from core.serving.gradcam import Explainer

    config = artifacts.load_config(name)
    explainer = Explainer(artifacts.load_model(name), registry.get(name).explain_layer)
    image = np.asarray(make_scan(1, 0, config.image_size).convert("RGB"))
    heatmap = explainer.heatmap(image, class_index=1, method="Grad-CAM++")
    assert heatmap.shape == (config.image_size, config.image_size)
    assert np.isfinite(heatmap).all() and heatmap.max() <= 1


@pytest.mark.parametrize("method", ["Grad-CAM", "Grad-CAM++"])
@pytest.mark.parametrize("name", SHIPPED)
def test_gradcam_on_the_split_model_is_tf_keras_vis_on_the_whole_model(name, method):
    """The Explainer's trunk + head gives the map tf-keras-vis computes on the whole model."""
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore

    from conftest import make_scan
    from core.serving.gradcam import Explainer

    config, model = artifacts.load_config(name), artifacts.load_model(name)
    image = np.asarray(make_scan(2, 1, config.image_size).convert("RGB"))
    whole = {"Grad-CAM": Gradcam, "Grad-CAM++": GradcamPlusPlus}[method](model, ReplaceToLinear())
    explainer, peaks = Explainer(model, registry.get(name).explain_layer), []
    for class_index in range(4):
        expected = whole(
            CategoricalScore([class_index]),
            image[None].astype(np.float32),
            penultimate_layer=registry.get(name).explain_layer,
        )[0]
        actual = explainer.heatmap(image, class_index, method)
        assert actual.shape == expected.shape == (config.image_size, config.image_size)
        np.testing.assert_allclose(actual, expected, atol=1e-4)
        peaks.append(expected.max())
    assert max(peaks) > 0.5  # real maps, not only empty ones


def test_the_audit_covers_the_test_set_the_models_were_evaluated_on():
    audit = artifacts.load_audit()
    for name in SHIPPED:
        assert audit["dataset"]["test_fingerprint"] == artifacts.load_metrics(name).test_fingerprint
        assert {t["path"] for t in audit["test_images"]} == set(artifacts.load_predictions(name)["path"])
    per_class = audit["test_vs_train"]["per_class"]
    assert sum(c["test_images"] for c in per_class.values()) == TEST_IMAGES
    assert audit["test_vs_train"]["near"] == sum(t["near"] or t["exact"] for t in audit["test_images"])
