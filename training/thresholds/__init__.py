"""After training: choose the event types the trigger lexicon backs up, tune the per-type event thresholds and compare
tuning rules on held-out annotation; run as `python -m training.thresholds.<name>`."""
