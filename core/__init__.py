"""Brain-tumor MRI classifiers: data, models, training, evaluation and artifacts.

Nothing in this package imports streamlit; the dashboard calls into it.
"""
