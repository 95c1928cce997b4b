"""Layer 6: embedding transfer, one module per initialization (registry.py lists them)."""
