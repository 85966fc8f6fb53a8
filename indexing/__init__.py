"""Files in, searchable index out: load, chunk, embed, store, build."""
