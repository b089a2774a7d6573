"""Statistics by topic, pure functions: arrays or frames in, frozen estimates out."""
