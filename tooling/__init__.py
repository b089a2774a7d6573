"""Tools around the product, not part of it: synthetic data, benchmarks, fuzzing."""
