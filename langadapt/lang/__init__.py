"""Layer 2: language profiles (scripts, templates, dictionaries, corpora, codes) and telling languages apart."""
