"""How captions speak of any number of models: "both" or "all 3", lists, shared values."""


def both(count: int) -> str:
    """How a caption counts the models: "both" for two, "all 3" for three."""
    return "both" if count == 2 else f"all {count}"


def either(count: int) -> str:
    """How a caption says "at least one of the models": "either model" for two, "any model" else."""
    return "either model" if count == 2 else "any model"


def listed(words: list[str], conjunction: str = "and") -> str:
    """Words as a sentence lists them: A; A and B; A, B and C (or another conjunction: A, B or C)."""
    return f" {conjunction} ".join([", ".join(words[:-1]), words[-1]] if len(words) > 1 else words)


def per_model(values: dict[str, str]) -> str:
    """A value every model shares ("15%"), else each one's ("15% (MobileNetV2) and 20% (CNN)").

    Args:
        values: each model's short name -> its value.
    """
    if len(set(values.values())) == 1:
        return next(iter(values.values()))
    return listed([f"{value} ({name})" for name, value in values.items()])


def grouped(values: dict[str, str]) -> str:
    """Each value said once, after the names that share it: "A and B: reason; C: another".

    Args:
        values: each model's title -> its value, in the order they are named.
    """
    names: dict[str, list[str]] = {}
    for name, value in values.items():
        names.setdefault(value, []).append(name)
    return "; ".join(f"{listed(sharing)}: {value}" for value, sharing in names.items())


def fine_tuning_note(two_phase: list[str]) -> str:
    """The Training page's sentence on the dashed line, for the two-phase models (short names)."""
    if not two_phase:
        return ""
    switch = "switches" if len(two_phase) == 1 else "switch"
    return (
        f"Dashed line: {listed(two_phase)} {switch} from training the new head on a frozen base to "
        "fine-tuning its top layers. "
    )


def control_note(
    control: str, control_size: int, transfer: str, transfer_size: int, same_pastes: bool = True
) -> str:
    """What the pretraining control is for, under the Overview's seed table.

    Args:
        same_pastes: whether the control trained with the same pasted lesions as the others.
    """
    size = "" if control_size == transfer_size else f" (and of its {transfer_size} px input)"
    caveat = (
        ""
        if same_pastes
        else " It has not been retrained with the pasted lesions the others train with: until it "
        "is, its differences mix pretraining with the recipe."
    )
    return (
        f"{control} is a control: the architecture and head of {transfer}, trained from random "
        f"initialisation in one phase at {control_size} px, without ImageNet weights. {transfer} "
        f"minus the control is what pretraining gives{size}; the control against the custom CNN is "
        f"what the architecture gives.{caveat}"
    )


def counted(count: int, noun: str) -> str:
    """ "1 file", "1,234 files": a count and its noun, plural but for one (a noun plural with "s")."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def share(count: int, total: int) -> str:
    """A rate with what it is made of: "94.1% (380 of 404)"; "n/a (0 of 0)" without a total."""
    rate = f"{count / total:.1%}" if total else "n/a"
    return f"{rate} ({count:,} of {total:,})"


def p_text(p_value: float) -> str:
    """A p-value as a sentence gives it: "p < 0.001", "p = 0.012"."""
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"
