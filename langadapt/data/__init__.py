"""Layer 3: corpora (Debian, files, hub), instruction templates, bilingual dictionaries."""
