"""Question in, ranked passages out: dense, lexical, fused, reranked."""
