"""Layer 5: tokenizer variants (SentencePiece, merged and shrunk vocabularies) and vocabulary overlap."""
