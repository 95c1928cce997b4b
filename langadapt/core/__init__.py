"""Layer 1, the floor: errors, atomic file I/O, the stage runner, torchrun launch, rule dependencies."""
