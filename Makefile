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

# The shipped artifacts: three seeds of each compared model, one run of the pretraining control.
train: $(READY)
	$(BIN)/python -m core.train --model mobilenetv2 --seeds 3
	$(BIN)/python -m core.train --model custom_cnn --seeds 3
	$(BIN)/python -m core.train --model mobilenetv2_scratch
	$(BIN)/python -m core.audit

evaluate: $(READY)
	$(BIN)/python -m core.evaluate --model all

screenshots: $(READY)
	SCREENSHOT_DIR=docs/screenshots $(BIN)/python -m pytest tests/test_browser.py

lint: $(READY)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(READY)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
