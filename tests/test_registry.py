"""The registry's promise: a new architecture is one `register` call in a few lines, and it
trains, evaluates, is explained, is guarded and appears on every page with no other file edited."""

import dataclasses
import io

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from test_app import PAGES, TIMEOUT

from conftest import TINY, make_scan, write_dataset
from core import artifacts, paths
from core.data.cache import CACHE_ENV_VAR
from core.models import registry
from core.serving.gradcam import Explainer
from core.serving.ood import Checker, load_guard
from core.studies import audit, sources
from core.training import train


@pytest.fixture(scope="module")
def trained(tiny_net, tmp_path_factory):
    """The tiny model beside the custom CNN (the cheapest of the others to train), trained briefly
    on one synthetic dataset, and the dataset's audit."""
    root = tmp_path_factory.mktemp("third")
    data, out = write_dataset(root / "data"), root / "artifacts"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV_VAR, str(root / "cache"))
        for name in (registry.CUSTOM_CNN.name, TINY.name):
            short = dict(
                image_size=min(registry.get(name).config.image_size, 96), epochs=1, fine_tune_epochs=1
            )
            train.train(
                dataclasses.replace(registry.get(name).config, **short, batch_size=8), data, out, None
            )
    audit.main(["--data", str(data), "--artifacts", str(out)])
    sources.main(["--data", str(data), "--artifacts", str(out)])
    return data, out


def test_it_trains_and_evaluates_in_one_phase(trained):
    _, root = trained
    assert TINY.name in registry.names()
    assert artifacts.available_models(root) == [registry.CUSTOM_CNN.name, TINY.name]
    assert [phase["name"] for phase in artifacts.load_history(TINY.name, root)["phases"]] == ["train"]
    metrics = artifacts.load_metrics(TINY.name, root)
    assert metrics.n_images == 24 and 0 <= metrics.accuracy <= 1
    shortened = dataclasses.replace(TINY, epochs=1, fine_tune_epochs=1, batch_size=8)
    assert artifacts.load_config(TINY.name, root) == shortened


def test_it_is_explained_and_guarded(trained, tiny_net):
    _, root = trained
    model = artifacts.load_model(TINY.name, root)
    image = np.asarray(make_scan(1, 0, TINY.image_size).convert("RGB"))
    heatmap = Explainer(model, tiny_net.explain_layer).heatmap(image, 1, "Grad-CAM++")
    assert heatmap.shape == (TINY.image_size, TINY.image_size) and heatmap.max() <= 1
    scores = Checker(model, load_guard(TINY.name, root)).scores(image[None])
    assert scores.shape == (1,) and np.isfinite(scores).all()


def _png() -> bytes:
    buffer = io.BytesIO()
    make_scan(2, 3, 64).save(buffer, format="PNG")
    return buffer.getvalue()


def _text(app: AppTest) -> str:
    """Everything a page wrote as text: titles, Markdown, captions, metrics, tables, choices."""
    kinds = ("title", "subheader", "markdown", "caption")
    parts = [element.value for kind in kinds for element in app.get(kind)]
    parts += [f"{metric.label} {metric.value}" for metric in app.metric]
    parts += [frame.value.to_string() for frame in app.dataframe]
    parts += [str(option) for box in app.selectbox for option in box.options]
    return "\n".join(parts)


@pytest.fixture
def app_on(trained, monkeypatch):
    """A fresh app on the trained artifacts and the synthetic dataset; caches cleared around it."""
    data, root = trained
    monkeypatch.setenv(paths.ARTIFACTS_ENV_VAR, str(root))
    monkeypatch.setenv(paths.DATA_ENV_VAR, str(data))
    st.cache_data.clear()
    st.cache_resource.clear()
    yield lambda: AppTest.from_file(str(paths.ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.mark.parametrize("page", PAGES)
def test_it_appears_on_every_page(app_on, page, trained):
    app = app_on()
    if page == "pages/image.py":  # one test image's detail view
        app.query_params["path"] = artifacts.load_predictions(TINY.name, trained[1])["path"].iloc[0]
    app.run()
    if page != PAGES[0]:
        app.switch_page(page).run()
    if page == "pages/predict.py":
        app.get_by_key("single_upload").set_value(("scan.png", _png(), "image/png"))
        app.run()
    assert not app.exception, [e.message for e in app.exception]
    text = _text(app)
    assert TINY.display_name in text or f"{registry.get(TINY.name).short_name}:" in text, text[:2000]
