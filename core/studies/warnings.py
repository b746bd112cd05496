"""The warnings Live prediction shows, counted where they matter: missed tumours and right answers.

CLI: python -m core warnings [--external DIR] [--data DIR] [--artifacts DIR]

An answer of "no tumor" comes with a warning when some model's guard does not vouch for the
image (no label is shown then), when the models disagree on tumour or not, when a model answering
"no tumor" puts more than half its probability on the tumour classes together
(core.serving.predict.doubted_no_tumour), or when most of the nearest training images are tumours
(core.serving.neighbours). Each image goes through the same serving code as an upload (the served
models with their LiteRT copies and validation temperatures, their guards, the neighbour check),
and two figures are counted:
- on the external tumour slices, those some model calls "no tumor" with no warning shown: a
  tumour missed in silence (at most MAX_UNWARNED of the slices is the target);
- on Testing, the images every model answers right that get a warning all the same: a false
  alarm (at most MAX_FALSE_ALARMS of them is the target).
No rule is tuned here: both are measured on the rules as they are. Writes artifacts/warnings.json.
"""

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from core import artifacts, cli, paths
from core.data.dataset import CLASS_NAMES, NOTUMOR, TEST_SPLIT, find_samples
from core.data.imagefile import ImageError
from core.evaluation.folder_predict import served
from core.files import write_json
from core.serving.neighbours import NeighbourCheck
from core.serving.ood import Checker
from core.serving.predict import doubted_no_tumour, image_files, refusal, tumour_dispute

MAX_UNWARNED = 0.02  # external slices called "no tumor" by some model with no warning
MAX_FALSE_ALARMS = 0.03  # Testing images every model answers right, warned about all the same
GUARD, DISAGREEMENT, LEANING, NEIGHBOURS = RULES = (
    "guard",
    "disagreement",
    "leaning to a tumour",
    "nearest training images",
)


@dataclass(frozen=True)
class Shown:
    """What Live prediction shows for one image: each model's answer and the warnings that fire."""

    answers: dict[str, str]  # model name -> the class name it predicts
    warned: dict[str, bool]  # rule (RULES) -> whether it fires

    @property
    def no_tumour(self) -> bool:
        """Some model's answer shown is "no tumor" (where the guard refuses an image, none is shown)."""
        return not self.warned[GUARD] and CLASS_NAMES[NOTUMOR] in self.answers.values()

    @property
    def unwarned_no_tumour(self) -> bool:
        return self.no_tumour and not any(self.warned.values())


class Server:
    """The served models, their guards and the neighbour check, as the app loads them."""

    def __init__(self, names: list[str], root: Path | None = None) -> None:
        from core.models.registry import MOBILENETV2

        # Calibrated as the page shows them: the leaning rule reads the probabilities.
        self.predictors = {name: served(name, root)[0] for name in names}
        self.checkers = {
            name: Checker.from_artifacts(name, predictor.model, root)
            for name, predictor in self.predictors.items()
        }
        self.neighbours_model = MOBILENETV2.name
        mobilenetv2 = self.predictors.get(MOBILENETV2.name)
        self.neighbours = NeighbourCheck.from_artifacts(root) if mobilenetv2 else None

    def show(self, data: bytes, name: str) -> Shown:
        """The answers and warnings for one file (raises ImageError as an upload would)."""
        results = {model: predictor.predict_file(data, name) for model, predictor in self.predictors.items()}
        answers = {
            model: CLASS_NAMES[int(result.probabilities.argmax())] for model, result in results.items()
        }
        if refusal(self.checkers[model].flag(result.upload) for model, result in results.items()):
            return Shown(answers, {GUARD: True} | dict.fromkeys(RULES[1:], False))  # no label shown
        mobilenetv2 = results.get(self.neighbours_model)  # its decoded copy, as the page reads it
        doubted = bool(
            self.neighbours and mobilenetv2 and self.neighbours.warning(mobilenetv2.image, answers)
        )
        leaning = doubted_no_tumour({model: result.probabilities for model, result in results.items()})
        return Shown(
            answers,
            {
                GUARD: False,
                DISAGREEMENT: tumour_dispute(answers) is not None,
                LEANING: leaning is not None,
                NEIGHBOURS: doubted,
            },
        )


def shown_all(server: Server, files: Iterable[Path]) -> dict[str, Shown]:
    """Each readable file's Shown, by its path; unreadable files are left out."""
    shown = {}
    for path in files:
        try:
            shown[str(path)] = server.show(path.read_bytes(), path.name)
        except (ImageError, OSError):
            continue
    return shown


def summarise(external: dict[str, Shown], test: dict[str, tuple[Shown, str]]) -> dict:
    """warnings.json: the external slices' unwarned "no tumor" answers and Testing's false alarms.

    Args:
        external: file -> Shown of each external tumour slice.
        test: relative path -> (Shown, true class name) of each Testing image.
    """
    right = [shown for shown, truth in test.values() if set(shown.answers.values()) == {truth}]
    return {
        "external": {
            "images": len(external),
            "no_tumour": sum(shown.no_tumour for shown in external.values()),
            "unwarned": sorted(
                Path(file).name for file, shown in external.items() if shown.unwarned_no_tumour
            ),
        },
        "test": {
            "images": len(test),
            "right": len(right),
            "warned": {
                **{rule: sum(shown.warned[rule] for shown in right) for rule in RULES},
                "any": sum(any(shown.warned.values()) for shown in right),
            },
        },
        "targets": {"unwarned": MAX_UNWARNED, "false_alarms": MAX_FALSE_ALARMS},
    }


def main(argv: list[str] | None = None) -> None:
    parser = cli.parser(__doc__.splitlines()[0], models=False)
    parser.add_argument("--external", help=f"folder of tumour slices (default: ${paths.EXTERNAL_ENV_VAR})")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    folder = paths.external_dir(args.external)
    if folder is None or not folder.is_dir():
        raise FileNotFoundError(f"external set not found ({folder}): pass --external DIR")
    root, data_dir = Path(args.artifacts), paths.data_dir(args.data)
    server = Server(artifacts.available_models(root), root)
    external = shown_all(server, image_files(folder))
    samples = find_samples(data_dir, TEST_SPLIT)
    shown = shown_all(server, (sample.path for sample in samples))
    test = {
        sample.relpath: (shown[str(sample.path)], CLASS_NAMES[sample.label])
        for sample in samples
        if str(sample.path) in shown
    }
    summary = summarise(external, test)
    write_json(root / artifacts.WARNINGS_FILE, summary)
    external, test = summary["external"], summary["test"]
    print(
        f"external: {len(external['unwarned'])} of {external['images']} tumour slices called no tumour by "
        f"some model with no warning; Testing: {test['warned']['any']} of the {test['right']} images every "
        "model answers right warned about",
        flush=True,
    )


if __name__ == "__main__":
    cli.run(main)
