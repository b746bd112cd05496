"""Warming the models at start-up (pages/ui/warm.py)."""

import gc

from core.models.registry import CUSTOM_CNN
from pages.ui import loaders, warm


def test_warming_fills_the_caches_then_freezes_them_out_of_the_garbage_collector():
    gc.unfreeze()
    try:
        warm._warm([CUSTOM_CNN.name], freeze=True)
        assert gc.get_freeze_count() > 0  # Keras' collection after every script run skips them
        assert loaders.predictor(CUSTOM_CNN.name) is loaders.predictor(CUSTOM_CNN.name)
    finally:
        gc.unfreeze()


def test_a_script_run_without_a_server_does_not_freeze_its_process():
    gc.unfreeze()
    warm._warm([CUSTOM_CNN.name], freeze=False)
    assert gc.get_freeze_count() == 0
