"""FDIF Studio's headless engine: SDF shape classes, composition, datasets and training."""

__version__ = "0.1.0"
