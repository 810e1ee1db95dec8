"""Annotation workflow: choose articles or sentences to annotate, hand out and check annotation sheets, import them
as standoff files, and measure agreement between two passes; run as `python -m training.annotation.<name>`."""
