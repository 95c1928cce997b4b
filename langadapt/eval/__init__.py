"""Layer 9: lm-eval tasks and runs, the report, the manifest."""
