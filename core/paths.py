"""Where things live: project root, artifacts, dataset, training runs and ImageNet weights.

Locations given by the user win over environment variables, which win over defaults.
"""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS_DIR = ROOT / "artifacts"
DEFAULT_DATA_DIR = ROOT / "data" / "brain-tumor-mri"
RUNS_DIR = ROOT / "runs"  # training runs started from the app (core.training.runs)
# Tumour slices of a collection the dataset does not contain, where a checkout sits beside them.
DEFAULT_EXTERNAL_DIR = ROOT.parent / "shared" / "data" / "external" / "tumour-slices"

DATA_ENV_VAR = "BRAIN_MRI_DATA"
ARTIFACTS_ENV_VAR = "BRAIN_MRI_ARTIFACTS"
WEIGHTS_ENV_VAR = "MOBILENETV2_WEIGHTS"
RUNS_ENV_VAR = "BRAIN_MRI_RUNS"
EXTERNAL_ENV_VAR = "BRAIN_MRI_EXTERNAL"
PROGRESS_ENV_VAR = "BRAIN_MRI_PROGRESS"  # a folder where core.training.train writes each epoch's records
FOLDERS_ENV_VAR = "BRAIN_MRI_FOLDERS"  # the only folders a typed folder may lie in (for an app others reach)


def data_dir(flag: str | os.PathLike | None = None) -> Path:
    """The dataset folder: `flag` if given, else $BRAIN_MRI_DATA, else data/brain-tumor-mri."""
    if flag:
        return Path(flag).expanduser()
    if os.environ.get(DATA_ENV_VAR):
        return Path(os.environ[DATA_ENV_VAR]).expanduser()
    return DEFAULT_DATA_DIR


def artifacts_dir(flag: str | os.PathLike | None = None) -> Path:
    """The artifacts folder: `flag` if given, else $BRAIN_MRI_ARTIFACTS, else artifacts/."""
    chosen = flag or os.environ.get(ARTIFACTS_ENV_VAR)
    return Path(chosen).expanduser() if chosen else ARTIFACTS_DIR


def external_dir(flag: str | os.PathLike | None = None) -> Path | None:
    """The external validation set (a folder of tumour slices): `flag` if given, else
    $BRAIN_MRI_EXTERNAL, else DEFAULT_EXTERNAL_DIR where it exists, else None."""
    chosen = flag or os.environ.get(EXTERNAL_ENV_VAR)
    if chosen:
        return Path(chosen).expanduser()
    return DEFAULT_EXTERNAL_DIR if DEFAULT_EXTERNAL_DIR.is_dir() else None


def runs_dir(flag: str | os.PathLike | None = None) -> Path:
    """The training runs' folder: `flag` if given, else $BRAIN_MRI_RUNS, else runs/."""
    chosen = flag or os.environ.get(RUNS_ENV_VAR)
    return Path(chosen).expanduser() if chosen else RUNS_DIR


def progress_dir() -> Path | None:
    """Where core.training.train writes its records after every epoch: $BRAIN_MRI_PROGRESS, else nowhere."""
    chosen = os.environ.get(PROGRESS_ENV_VAR)
    return Path(chosen).expanduser() if chosen else None


def folder_roots() -> list[Path]:
    """The folders in which the pages open a folder a user types ($BRAIN_MRI_FOLDERS, separated by
    os.pathsep), resolved; [] when unset: any folder this process can read, as for one user's machine."""
    chosen = os.environ.get(FOLDERS_ENV_VAR, "")
    return [Path(root.strip()).expanduser().resolve() for root in chosen.split(os.pathsep) if root.strip()]


def shown(folder: str | os.PathLike) -> str:
    """A folder as the app shows it: relative to the project when inside it, else as it is."""
    path = Path(folder)
    inside = path.is_absolute() and path.is_relative_to(ROOT)
    return str(path.relative_to(ROOT)) if inside else str(path)


def imagenet_weights(flag: str | os.PathLike | None = None) -> str:
    """MobileNetV2 weights: a local .h5 from `flag` or $MOBILENETV2_WEIGHTS, else "imagenet".

    "imagenet" is Keras' own path: it uses the file in Keras' cache or downloads it.
    """
    chosen = flag or os.environ.get(WEIGHTS_ENV_VAR)
    if not chosen:
        return "imagenet"
    path = Path(chosen).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"MobileNetV2 weights file not found: {path}")
    return str(path)
