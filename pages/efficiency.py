import streamlit as st

from core import artifacts, wording
from core.evaluation import efficiency
from core.report.figures import latency_bars
from core.report.reference import PUBLISHED_MOBILENETV2
from core.serving import litert
from pages.ui import loaders, routing, widgets

names = routing.require_models()
titles = loaders.titles()
st.title("Efficiency")
st.caption(
    f"Size, inference latency and training time of {wording.both(len(names))} models, measured on "
    "this machine's CPU."
)

benchmark = loaders.benchmark()
cold_start = loaders.benchmark(artifacts.COLD_START_FILE)
soak = loaders.benchmark(artifacts.SOAK_FILE)
if benchmark is None:
    st.info("No benchmark in artifacts/. Run `python -m benchmarks.inference` to measure latency.")
else:
    machine = benchmark["machine"]
    st.markdown(
        f"Measured {benchmark['created'][:10]} on {machine['cpu']} ({machine['cores']} cores), "
        f"median and 95th percentile of {benchmark['repeats']} calls each; "
        f"TensorFlow {machine['versions'].get('tensorflow', '?')}."
    )
    colors = {titles[name]: loaders.architecture(name).color for name in names}
    st.plotly_chart(
        latency_bars(efficiency.latency_table(benchmark, titles), colors),
        width="stretch",
        config={"displayModeBar": False},
    )
    served = {
        widgets.short_name(name): "int8" if result.get(artifacts.INT8_SERVES) else "fp32"
        for name, result in benchmark["models"].items()
    }
    st.caption(
        f"The app predicts through LiteRT {wording.per_model(served)} (XNNPACK, one thread per core), "
        "else through the compiled Keras call where a `.tflite` copy is missing. The int8 copy "
        f"serves where it measured faster than fp32 and changed at most {litert.INT8_MAX_LABELS_CHANGED:.1%} "
        "of the test images' labels (a rule on agreement, which reads no label). Published MobileNetV2: "
        f"about {PUBLISHED_MOBILENETV2['ms_per_image']:.0f} ms per image, hardware not stated."
    )

    st.subheader("Targets")
    st.dataframe(
        efficiency.targets_table(benchmark, cold_start, soak),
        hide_index=True,
        column_config={"met": st.column_config.CheckboxColumn()},
    )
    if cold_start:
        st.caption(
            f"Start-up, median of {cold_start['starts']} starts of `streamlit run` with the browser "
            f"already open: the Overview's title after {cold_start['title_s']['median']:.1f} s, the "
            f"whole page after {cold_start['complete_s']['median']:.1f} s "
            f"(slowest {cold_start['complete_s']['max']:.1f} s; `python -m benchmarks.cold_start`)."
        )
    if first_visit := loaders.benchmark(artifacts.FIRST_VISIT_FILE):
        st.markdown("**First visit of each page**, clicked through in the browser after the Overview")
        st.dataframe(
            efficiency.first_visit_table(first_visit),
            hide_index=True,
            column_config=widgets.number_columns({"title (s)": "%.1f", "complete (s)": "%.1f"}),
        )
        st.caption(
            f"After {first_visit['pause_s']:.0f} s on the Overview, while the models warm in the "
            "background; the Overview's times count from `streamlit run` "
            "(`python -m benchmarks.first_visit`)."
        )

    if soak:
        st.markdown("**Live prediction**, from setting the file in the browser")
        st.dataframe(
            efficiency.upload_table(soak),
            hide_index=True,
            column_config=widgets.number_columns(
                dict.fromkeys(
                    ("answer, median (s)", "answer, 95th pct (s)", "page finished, median (s)"), "%.2f"
                )
            ),
        )
        st.caption(
            "Answer: every model's label on screen; page finished: the script run over, the slower "
            "extras (the nearest training images' check) drawn too, as Streamlit's running indicator "
            "tells, which shows after 0.5 s of running (`python -m benchmarks.soak`)."
        )

    st.subheader("Size")
    st.dataframe(
        efficiency.size_table(benchmark, {name: loaders.metrics(name) for name in names}, titles),
        hide_index=True,
        column_config=widgets.number_columns(
            {"parameters": "localized"}
            | dict.fromkeys(("Keras (MB)", "LiteRT fp32 (MB)", "LiteRT int8 (MB)"), "%.1f"),
            percent=("accuracy fp32", "accuracy int8"),
        ),
    )
    st.caption(
        f"Published MobileNetV2: {PUBLISHED_MOBILENETV2['file_size_mb']:.1f} MB. The int8 copy is "
        f"fully integer (static quantisation: weights and activations, ranges calibrated on "
        f"{litert.CALIBRATION_IMAGES} training images)."
    )

st.subheader("Training time")
manifests = {name: loaders.quickest_manifest(name) for name in names}
compared = [name for name in names if not loaders.architecture(name).control]
total = efficiency.training_total_s({name: manifests[name] for name in compared})
target = efficiency.TRAINING_TARGET_S
controls = [
    f"{titles[name]} (control) {efficiency.training_seconds(manifests[name]) / 60:.1f} min"
    for name in names
    if name not in compared
]
st.markdown(
    f"{wording.listed([titles[name] for name in compared])} end to end: **{total / 60:.1f} min** "
    f"({'within' if total <= target else 'over'} the {target / 60:.0f}-minute target)"
    + (f"; {wording.listed(controls)}" if controls else "")
    + ". From the wall times each model's quickest run of its seeds (the one that had the machine "
    "most to itself) recorded in its manifest: decoding, training, LiteRT export and evaluation. "
    + efficiency.machines_sentence(manifests, titles)
)
st.dataframe(
    efficiency.training_phases(manifests, titles),
    hide_index=True,
    column_config=widgets.number_columns({"seconds": "%.0f"}),
)
