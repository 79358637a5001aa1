"""Shared fixtures: keep torch single-threaded so tests behave the same on busy 2-core machines."""

import os

import pytest
import torch

torch.set_num_threads(int(os.environ.get("FDIF_TEST_THREADS", "1")))

# CI runs the same hypothesis examples every time (a new failing example found by a local run
# still fails there once it is in a test); locally hypothesis keeps searching afresh.
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _isolated_user_library(tmp_path_factory, monkeypatch):
    """Tests never read or write the real user library."""
    monkeypatch.setenv("FDIF_USER_LIBRARY", str(tmp_path_factory.mktemp("user_library")))
    from fdif_core.library import clear_cache

    clear_cache()
    yield
    clear_cache()
