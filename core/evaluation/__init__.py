"""Scoring saved models: metrics, intervals, paired tests, seeds, calibration, curves, the verdict,
comparison tables, efficiency, folder evaluation."""
