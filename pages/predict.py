import streamlit as st

from core.data import CLASS_NAMES, ImageError
from core.figures import probability_bars
from core.predict import predict_files
from pages import shared

names = shared.require_models()
titles = shared.titles()
st.title("Live prediction")
st.caption("Research tool, not a medical device. Both models classify the same upload.")

single, batch = st.tabs(["One image", "Batch"])

with single:
    upload = st.file_uploader("An MRI slice", type=shared.IMAGE_TYPES, key="single_upload")
    if upload is not None:
        try:
            results = {n: shared.predictor(n).predict_file(upload.getvalue(), upload.name) for n in names}
        except ImageError as error:
            st.error(str(error))
        else:
            foreign = shared.foreign_warnings({n: image for n, (image, _, _) in results.items()})
            shared.warn_if_foreign(foreign)
            image_column, result_column = st.columns([1, 2])
            # The decoded copy, largest first: a browser cannot show DICOM or CMYK files as uploaded.
            decoded = max((image for image, _, _ in results.values()), key=len)
            image_column.image(decoded, caption=upload.name, width="stretch")
            with result_column:
                for column, (name, (_, probabilities, ms)) in zip(st.columns(len(names)), results.items()):
                    column.markdown(shared.title(name))
                    column.metric(
                        "Prediction",
                        "Not recognised"
                        if foreign
                        else shared.class_title(CLASS_NAMES[int(probabilities.argmax())]),
                        f"{probabilities.max():.1%} · {ms:.0f} ms" if not foreign else f"{ms:.0f} ms",
                        delta_color="off",
                        delta_arrow="off",
                    )
                bars = probability_bars({n: r[1] for n, r in results.items()}, titles)
                if foreign:
                    with st.expander("The models' answers anyway (not to be trusted here)"):
                        st.plotly_chart(bars, width="stretch")
                else:
                    st.plotly_chart(bars, width="stretch")

with batch:
    uploads = st.file_uploader(
        "Many MRI slices (files that are not images get an error in their row)",
        accept_multiple_files=True,
        key="batch_upload",
    )
    if uploads:
        progress = st.progress(0.0, text=f"Classifying {len(uploads)} files…")
        table = predict_files(
            {n: shared.predictor(n) for n in names},
            ((u.name, u.getvalue()) for u in uploads),
            on_progress=lambda done: progress.progress(done / len(uploads), text=f"{done}/{len(uploads)}"),
            checkers={n: shared.checker(n) for n in names},
        )
        progress.empty()
        failed = table["error"].ne("").sum()
        foreign = table["out_of_distribution"].eq(True)
        st.markdown(
            f"**{len(table) - failed}** classified, **{failed}** refused; "
            f"the models agree on **{int(table['agree'].fillna(False).sum())}**."
        )
        if foreign.any():
            st.warning(
                f"**{int(foreign.sum())}** of these do not look like the brain MRI slices the models "
                "learned from: their labels are shown as *Not recognised* (the CSV keeps them, with "
                "`out_of_distribution` true).",
                icon=":material/warning:",
            )
        shown = table.copy()
        for name in names:
            shown[f"{name}_label"] = shown[f"{name}_label"].map(shared.class_title, na_action="ignore")
            shown.loc[foreign, f"{name}_label"] = "Not recognised"
        st.dataframe(
            shown,
            hide_index=True,
            column_config={
                **{f"{n}_label": titles[n] for n in names},
                "out_of_distribution": "unlike the training data",
                **{
                    f"{n}_confidence": st.column_config.NumberColumn(
                        f"{shared.SHORT_NAMES.get(n, n)} confidence", format="percent"
                    )
                    for n in names
                },
            },
        )
        st.download_button(
            "Download results (CSV)",
            table.to_csv(index=False).encode(),
            "predictions.csv",
            "text/csv",
            on_click="ignore",
        )
