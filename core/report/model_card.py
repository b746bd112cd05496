"""The model card's words: what the models were trained on and what not to use them for.

The dashboard's model card (pages/ui/model_card.py) and the HTML report (core.report.study_sections)
show the same text, in Markdown; the training collections themselves are core.data.provenance.COVERAGE.
"""

from core.data.provenance import COVERAGE
from core.records import CrossSourceSummary
from core.report import generalisation

TITLE = "Model card: what these models have seen, and what not to use them for"
TRAINING_DATA = "**Training data.** The Kaggle Brain Tumor MRI Dataset's Training split, which merges:"
NOT_FOR_HEADING = "**Not for:**"

NOT_FOR = (
    "Diagnosis or triage of any patient: these are research models, validated on public slices only.",
    "Ruling a tumour out: on a collection they have not seen, the models miss tumours they would "
    "find in a familiar one (see leave one source out).",
    "Sequences, planes or scanners outside the training collections, CT, whole volumes, or any "
    "image that is not a single 2-D brain MRI slice.",
    "Tumour types other than glioma, meningioma and pituitary tumour: they get one of those three "
    "labels or *no tumor* all the same.",
)  # Markdown


def coverage_items() -> list[str]:
    """One Markdown list item a training collection: its name and what it covers."""
    return [f"**{source}**: {covers}" for source, covers in COVERAGE.items()]


def beyond_line(summary: CrossSourceSummary, titles: dict[str, str]) -> str:
    """How the models `titles` fare on a collection held out of training (leave one source out)."""
    return f"**Beyond the training collections.** {generalisation.recall_line(summary, titles)}"
