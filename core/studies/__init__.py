"""Measurements on the dataset, one artifact each: leakage audit, guard report, leave one source
out, localisation."""
