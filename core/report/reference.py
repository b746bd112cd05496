"""Published figures the dashboard shows as reference rows (published, not reproduced)."""

from core.data import release

HEADING = "Against the published figures"  # the Overview's and the report's

PUBLISHED_MOBILENETV2 = {
    "source": "MobileNetV2 transfer learning on limited data (2025)",
    "test_images": 1311,
    "accuracy": 0.9402,
    "macro_f1": 0.9450,
    "total_params": 2_590_000,
    "file_size_mb": 14.2,
    "ms_per_image": 25.0,
    "per_class": {
        "glioma": {"precision": 0.93, "recall": 0.95, "f1": 0.94},
        "meningioma": {"precision": 0.96, "recall": 0.92, "f1": 0.94},
        "notumor": {"precision": 0.98, "recall": 0.97, "f1": 0.97},
        "pituitary": {"precision": 0.91, "recall": 0.94, "f1": 0.93},
    },
}


def caption(n_images: int) -> str:
    """What the reference table compares, under it on the Overview and in the report."""
    return (
        f"Always on the full test set of {release.describe(n_images)}, the one the published figures "
        "use. Published rows are quoted, not reproduced; their timing hardware was not stated. Ours: "
        "median batch-1 latency on the benchmark machine's CPU, through LiteRT as the app predicts "
        "(see Efficiency). A second study claimed 99% for a custom CNN, measured on images it had "
        "trained on, so it has no comparable row."
    )
