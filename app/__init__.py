"""FDIF Studio desktop application (Phase 2). Depends on fdif_core; nothing depends on it."""
