"""Layer 8: lm-eval tasks and runs, the report, the manifest."""
