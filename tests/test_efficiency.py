import dataclasses
import json

import pytest

from conftest import make_metrics
from core import artifacts
from core.evaluation import efficiency
from core.records import ModelFacts
from core.report import figures

BENCHMARK = {
    "models": {
        "a": {
            "timings_ms": {
                "litert_fp32_batch_1": {"median_ms": 4.0, "p95_ms": 5.0},
                "keras_compiled_batch_1": {"median_ms": 14.0, "p95_ms": 20.0},
            },
            "file_size_mb": {"keras": 9.6, "tflite_fp32": 8.9, "tflite_int8": 2.5},
            "test_accuracy": {"fp32": 0.93, "int8": 0.92, "labels_changed": 5},
        }
    },
    "targets": [
        {"target": "A LiteRT", "comparison": "<=", "limit": 6.0, "value": 4.0, "unit": "ms", "met": True}
    ],
}


def test_latency_table_follows_the_label_order():
    table = efficiency.latency_table(BENCHMARK, {"a": "Model A"})
    assert table["measurement"].tolist() == ["Keras compiled call, batch 1", "LiteRT fp32, batch 1"]
    assert table["median_ms"].tolist() == [14.0, 4.0] and set(table["model"]) == {"Model A"}


def test_size_table_and_targets():
    sizes = efficiency.size_table(
        BENCHMARK,
        {"a": dataclasses.replace(make_metrics(), model=ModelFacts(123, 123, 1.0))},
        {"a": "Model A"},
    )
    row = sizes.iloc[0]
    assert (row["parameters"], row["LiteRT int8 (MB)"], row["labels changed by int8"]) == (123, 2.5, 5)
    targets = efficiency.targets_table(BENCHMARK)
    assert targets.iloc[0].to_dict() == {"target": "A LiteRT <= 6 ms", "measured": "4.00 ms", "met": True}


def test_targets_of_several_benchmarks_and_a_missing_one():
    from benchmarks.cold_start import summary

    cold_start = summary([{"title_s": 3.0, "complete_s": 4.5}, {"title_s": 4.0, "complete_s": 6.5}] * 2)
    assert cold_start["complete_s"] == {"median": 5.5, "max": 6.5} and cold_start["title_s"]["median"] == 3.5
    targets = efficiency.targets_table(BENCHMARK, None, cold_start)
    assert targets["met"].tolist() == [True, False]
    assert targets.iloc[1]["target"] == "first page complete after `streamlit run` <= 5 s"


def test_the_upload_table_has_a_row_per_way_of_uploading_with_both_times():
    timed = lambda answer, finished: {"answer": answer, "finished": finished}  # noqa: E731
    median = lambda m: {"n": 3, "median_s": m, "p95_s": m + 1, "max_s": m + 2}  # noqa: E731
    soak = {
        "soak": timed(median(0.2), median(1.2)),
        "first_uploads": timed(median(0.4), median(0.5)),
        "concurrency": timed(median(0.9), median(1.9)) | {"users": 5},
    }
    table = efficiency.upload_table(soak)
    assert table["uploads"].tolist() == [
        "one user, many uploads", "a new session's first upload", "5 users at once"
    ]  # fmt: skip
    assert table["answer, median (s)"].tolist() == [0.2, 0.4, 0.9]
    assert table["page finished, median (s)"].tolist() == [1.2, 0.5, 1.9]
    assert table["answer, 95th pct (s)"].tolist() == [1.2, 1.4, 1.9]


def test_training_phases_leave_out_the_total():
    manifests = {"a": {"wall_time_s": {"head": 10.0, "fine-tune": 50.0, "total": 70.0}}}
    phases = efficiency.training_phases(manifests, {"a": "A"})
    assert phases["phase"].tolist() == ["head", "fine-tune"]
    assert efficiency.training_total_s(manifests | {"b": {"wall_time_s": {"total": 30.0}}}) == 100.0


def test_runs_timed_on_different_machines_are_named_with_their_machine():
    manifests = {"a": {"cpu": "AMD EPYC (2 cores)"}, "b": {"cpu": "Intel Xeon (2 cores)"}}
    titles = {"a": "A", "b": "B"}
    assert efficiency.machines_sentence(manifests, titles) == (
        "Timed on different machines: A on AMD EPYC (2 cores); B on Intel Xeon (2 cores)."
    )
    assert efficiency.machines_sentence(manifests | {"b": manifests["a"]}, titles) == ""
    assert "B on an unrecorded machine" in efficiency.machines_sentence(manifests | {"b": {}}, titles)


def test_latency_bars_whisker_reaches_the_95th_percentile():
    table = efficiency.latency_table(BENCHMARK, {"a": "Model A"})
    (bars,) = figures.latency_bars(table, {"Model A": "#2563eb"}).data
    assert list(bars.x) == [14.0, 4.0]
    assert list(bars.error_x.array) == pytest.approx([6.0, 1.0])


def test_a_models_training_time_is_its_quickest_runs_and_a_damaged_run_is_named(tmp_path):
    def write(folder, seed, total):
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text(json.dumps({"seed": seed, "wall_time_s": {"total": total}}))

    served = tmp_path / "m"
    write(served, 42, 2400.0)  # shared the machine with another training
    write(artifacts.run_dir(served, 43), 43, 900.0)
    write(artifacts.run_dir(served, 44), 44, 1000.0)
    quickest = artifacts.load_quickest_manifest("m", tmp_path)
    assert quickest["seed"] == 43 and efficiency.training_seconds(quickest) == 900.0
    (artifacts.run_dir(served, 44) / "manifest.json").write_text("{cut off")
    with pytest.raises(artifacts.DamagedArtifactError, match="seed-44"):
        artifacts.load_quickest_manifest("m", tmp_path)
