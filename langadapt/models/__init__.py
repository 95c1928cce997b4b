"""Layer 4: model directories (checked, loaded, saved) and their embedding rows on disk."""
