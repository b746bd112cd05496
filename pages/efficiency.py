import streamlit as st

from core import artifacts, efficiency, wording
from core.figures import latency_bars
from core.reference import PUBLISHED_MOBILENETV2
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
    st.caption(
        "The app predicts through LiteRT fp32 (XNNPACK, one thread per core) when the model's "
        "`.tflite` copy is present, else through the compiled Keras call. Published MobileNetV2: "
        f"about {PUBLISHED_MOBILENETV2['ms_per_image']:.0f} ms per image, hardware not stated."
    )

    st.subheader("Targets")
    st.dataframe(
        efficiency.targets_table(benchmark, cold_start),
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
        f"Published MobileNetV2: {PUBLISHED_MOBILENETV2['file_size_mb']:.1f} MB. The int8 copy "
        "(dynamic-range quantization) is measured, not used by the app."
    )

st.subheader("Training time")
manifests = {name: loaders.manifest(name) for name in names}
total = efficiency.training_total_s(manifests)
target = efficiency.TRAINING_TARGET_S
st.markdown(
    f"{wording.both(len(names)).capitalize()} models end to end: **{total / 60:.0f} min** "
    f"({'within' if total <= target else 'over'} the {target / 60:.0f}-minute target), "
    "from the wall times each training run recorded in its manifest."
)
st.dataframe(
    efficiency.training_phases(manifests, titles),
    hide_index=True,
    column_config=widgets.number_columns({"seconds": "%.0f"}),
)
