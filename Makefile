# `make run` starts the dashboard, `make test` runs the tests; both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.requirements-installed

.PHONY: run test train evaluate screenshots lint format clean

$(READY): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

run: $(READY)
	$(BIN)/streamlit run streamlit_app.py

test: $(READY)
	$(BIN)/python -m pytest

# The shipped artifacts: three seeds of MobileNetV2, of the custom CNN and of the control,
# then what is measured on the dataset: the nearest-training-image reference, sources, leakage,
# where the models look, leave one source out, the external validation set and what the warnings
# catch there, the embedding map.
train: $(READY)
	$(BIN)/python -m core train --model mobilenetv2 --seeds 3
	$(BIN)/python -m core train --model custom_cnn --seeds 3
	$(BIN)/python -m core train --model mobilenetv2_scratch --seeds 3
	$(BIN)/python -m core neighbours
	$(BIN)/python -m core sources
	$(BIN)/python -m core audit
	$(BIN)/python -m core localisation
	$(BIN)/python -m core crosssource
	$(BIN)/python -m core external
	$(BIN)/python -m core warnings
	$(BIN)/python -m core embedding

evaluate: $(READY)
	$(BIN)/python -m core evaluate --model all
	$(BIN)/python -m core localisation
	$(BIN)/python -m core external
	$(BIN)/python -m core warnings
	$(BIN)/python -m core embedding

screenshots: $(READY)
	SCREENSHOT_DIR=docs/screenshots $(BIN)/python -m pytest tests/test_browser.py tests/test_train_page.py \
		tests/test_report_browser.py

lint: $(READY)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(READY)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
