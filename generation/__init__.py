"""Passages in, cited answer out: prompt, engines, citation checks."""
