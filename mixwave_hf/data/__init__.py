"""Multitrack datasets: the format (schema), builders, the synthetic drum corpus, the training loader."""
