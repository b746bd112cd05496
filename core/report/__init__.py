"""Presentation shared by pages and the report: figures, tables, the model card, published rows and
the HTML report."""
