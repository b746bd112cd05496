"""Published figures the dashboard shows as reference rows (published, not reproduced)."""

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
