"""The table of commands: `python -m core <command> [options]` runs one, `python -m core --help`
lists them. Messages built in code (artifact errors, the training command a manifest records)
spell a command through `command`.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    module: str  # the module whose main(argv) runs it
    summary: str  # one line for --help


COMMANDS = {
    "train": Command("core.training.train", "train models on Training, evaluate them on Testing"),
    "evaluate": Command("core.evaluation.evaluate", "re-evaluate the saved models on Testing and validation"),
    "predict": Command("core.evaluation.folder_predict", "classify every image under a folder into a CSV"),
    "folder": Command("core.evaluation.folder_eval", "score the models on a labelled folder of your own"),
    "litert": Command("core.serving.litert", "export the saved models to LiteRT (float32 and int8)"),
    "neighbours": Command("core.serving.neighbours", "build the nearest-training-image reference"),
    "sources": Command("core.studies.sources", "find each image's source collection (provenance.json)"),
    "audit": Command("core.studies.audit", "audit the test set and validation split for leaked duplicates"),
    "guard-report": Command("core.studies.ood_report", "measure the out-of-distribution guard"),
    "external": Command("core.studies.external", "score the models on an external set of tumour slices"),
    "warnings": Command(
        "core.studies.warnings", "count the tumours missed with no warning, and false alarms"
    ),
    "localisation": Command("core.studies.localisation", "score where the models look against tumour boxes"),
    "embedding": Command("core.studies.embedding", "place every image on each model's 2-D feature map"),
    "crosssource": Command("core.studies.crosssource", "train without one source collection, test on it"),
    "report": Command("core.report.document", "write the self-contained HTML report"),
    "runs": Command("core.training.runs", "list, start or cancel background training runs"),
}


def command(name: str, *args: str) -> str:
    """How a user types command `name` with `args`: "python -m core train --model custom_cnn"."""
    if name not in COMMANDS:
        raise KeyError(f"no command {name!r}; the commands are {', '.join(COMMANDS)}")
    return " ".join(["python -m core", name, *args])
