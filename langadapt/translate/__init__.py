"""Layer 7: translation backends and the relation-aware pipeline."""
