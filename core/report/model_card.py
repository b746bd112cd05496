"""The model card's words: what the models were trained on and what not to use them for.

The dashboard's model card (pages/ui/model_card.py) and the HTML report (core.report.document) show the
same text; the training collections themselves are core.data.provenance.COVERAGE.
"""

TITLE = "Model card: what these models have seen, and what not to use them for"
TRAINING_DATA = "The Kaggle Brain Tumor MRI Dataset's Training split, which merges:"

NOT_FOR = (
    "Diagnosis or triage of any patient: these are research models, validated on public slices only.",
    "Ruling a tumour out: on a collection they have not seen, the models miss tumours they would "
    "find in a familiar one (see leave one source out).",
    "Sequences, planes or scanners outside the training collections, CT, whole volumes, or any "
    "image that is not a single 2-D brain MRI slice.",
    "Tumour types other than glioma, meningioma and pituitary tumour: they get one of those three "
    "labels or *no tumor* all the same.",
)  # Markdown


def recipe_sentence(summary: dict) -> str:
    """What the models of a leave-one-source-out run trained with, from their stored configs.

    Args:
        summary: one recipe's leave-one-source-out results (artifacts.load_crosssource).

    Returns:
        One sentence, e.g. "Recipe: every image decoded in grey, rotation, shift, zoom and flips."
    """
    config = next(iter(next(iter(summary["folds"].values()))["models"].values()))["config"]
    parts = ["every image decoded in grey", "rotation, shift, zoom and flips"]
    if config.get("intensity_augmentation"):
        parts.append("intensity changes (gamma, contrast, bias field, blur, noise, inversion)")
    if config.get("lesion_pastes"):
        parts.append(f"{config['lesion_pastes']:g} pasted-lesion slice per no-tumour slice")
    return f"Recipe: {', '.join(parts)}."
