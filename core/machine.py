"""Facts about this machine that a timing or a training run means little without."""

import contextlib
import os
import platform
from importlib import metadata
from pathlib import Path

PACKAGES = ("tensorflow", "tensorflow-cpu", "keras", "ai-edge-litert", "numpy", "scikit-learn", "pillow")


def cpu() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else what the platform says."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def versions(packages: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Python's version and each installed package's (packages not installed are left out)."""
    found = {"python": platform.python_version()}
    for package in packages:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[package] = metadata.version(package)
    if "tensorflow-cpu" in found:  # Linux installs TensorFlow under this name
        found.setdefault("tensorflow", found["tensorflow-cpu"])
    return found


def load_average() -> float | None:
    """Runnable processes over the last minute (None where the OS does not say)."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def facts() -> dict:
    """CPU, cores, load, platform and library versions, for a benchmark's or a run's record."""
    return {
        "cpu": cpu(),
        "cores": os.cpu_count(),
        "load_average_1m": load_average(),
        "platform": platform.platform(),
        "versions": versions(),
    }
