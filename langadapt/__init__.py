"""langadapt: adapt English-centric LLMs to a new language."""
