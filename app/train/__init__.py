"""Training recipes for the small checking models minigiant ships: reranker and checker."""
