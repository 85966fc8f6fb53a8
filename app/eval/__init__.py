"""Quality and speed measured on real data sets: retrieval, end-to-end QA, factuality."""
