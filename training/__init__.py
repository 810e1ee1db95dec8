"""Training, evaluation and model-building entry points, run as `python -m training.<name>`."""
