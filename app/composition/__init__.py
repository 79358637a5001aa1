"""Composition mode: whole synthetic samples of a preset, exactly as ``fdif generate`` writes
them, and the preset editor."""
