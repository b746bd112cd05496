"""Presentation shared by pages and the report: figures, tables, the model card, published rows and
the HTML report."""

FILE_NAME = "brain-mri-report.html"  # the HTML report (core.report.document) as it is downloaded
