"""Flower apps, the photo-world benchmark, population simulations, demos and benchmarks."""
