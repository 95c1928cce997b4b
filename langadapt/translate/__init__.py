"""Layer 8: translation backends and the relation-aware pipeline."""
