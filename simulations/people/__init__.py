"""The photo world's people as the benchmarks see them: image tables, the development/final split,
evaluation with priors."""
