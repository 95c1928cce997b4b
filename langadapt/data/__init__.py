"""Layer 2: corpora (Debian, files, hub), instruction templates, bilingual dictionaries."""
