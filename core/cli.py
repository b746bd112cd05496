"""What the command-line tools share: the model/data/artifacts options and clear errors."""

import argparse
import sys
from collections.abc import Callable

from core import paths
from core.config import CONFIGS
from core.data import DatasetError


def parser(description: str, models: bool = True) -> argparse.ArgumentParser:
    """An argument parser with --data, --artifacts and, if `models`, --model."""
    parser = argparse.ArgumentParser(description=description)
    if models:
        parser.add_argument("--model", choices=[*CONFIGS, "all"], default="all")
    parser.add_argument("--data", help=f"dataset folder (default: ${paths.DATA_ENV_VAR} or data/)")
    parser.add_argument("--artifacts", default=str(paths.ARTIFACTS_DIR), help="artifacts folder")
    return parser


def selected_models(model: str) -> list[str]:
    return list(CONFIGS) if model == "all" else [model]


def run(main: Callable[[], None]) -> None:
    """Run a CLI's main; a missing dataset, weights file or artifact ends it with one clear line."""
    try:
        main()
    except (DatasetError, FileNotFoundError) as error:
        sys.exit(f"error: {error}")
