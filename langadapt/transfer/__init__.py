"""Layer 5: embedding transfer, one module per initialization (registry.py lists them)."""
