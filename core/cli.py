"""What the command-line tools share: the model/data/artifacts options and clear errors."""

import argparse
import sys
from collections.abc import Callable

from core import paths
from core.artifacts import ArtifactError
from core.data.dataset import DatasetError
from core.data.provenance import BOXES_ENV_VAR
from core.models.config import ModelConfig
from core.models.registry import names as model_names


def parser(
    description: str,
    models: bool = True,
    data: bool = True,
    cache: bool = False,
    boxes: bool = False,
    settings: bool = False,
) -> argparse.ArgumentParser:
    """An argument parser with --artifacts and, if `models`, --model; if `data`, --data; if
    `cache`, --no-cache; if `boxes`, --boxes (the tumour-box file); if `settings`, --set (a
    recipe to try: config fields changed, see configured)."""
    parser = argparse.ArgumentParser(description=description)
    if models:
        parser.add_argument("--model", choices=[*model_names(), "all"], default="all")
    if data:
        parser.add_argument("--data", help=f"dataset folder (default: ${paths.DATA_ENV_VAR} or data/)")
    if cache:
        parser.add_argument(
            "--no-cache", action="store_true", help="decode every image afresh (no disk cache)"
        )
    if boxes:
        parser.add_argument("--boxes", help=f"tumour-box CSV (default: ${BOXES_ENV_VAR} or <data>-boxes.csv)")
    if settings:
        parser.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help="change a config field for this run, e.g. --set intensity_augmentation=true (repeatable)",
        )
    parser.add_argument(
        "--artifacts",
        default=str(paths.artifacts_dir()),
        help=f"artifacts folder (default: ${paths.ARTIFACTS_ENV_VAR} or artifacts/)",
    )
    return parser


def configured(config: ModelConfig, args: argparse.Namespace, parser: argparse.ArgumentParser) -> ModelConfig:
    """`config` with the --set changes of `args`; a bad one ends the command with parser's usage."""
    try:
        return config.with_settings(args.set)
    except ValueError as error:
        parser.error(str(error))


def selected_models(model: str) -> list[str]:
    """The models a --model value names: every registered one for "all"."""
    return model_names() if model == "all" else [model]


def run(main: Callable[[], None]) -> None:
    """Run a CLI's main; a missing dataset or weights file, or a missing or damaged artifact, ends
    it with one clear line."""
    try:
        main()
    except (DatasetError, ArtifactError, FileNotFoundError) as error:
        sys.exit(f"error: {error}")
