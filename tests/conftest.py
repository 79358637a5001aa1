"""Shared fixtures: keep torch single-threaded so tests behave the same on busy 2-core machines."""

import os

import pytest
import torch

torch.set_num_threads(int(os.environ.get("FDIF_TEST_THREADS", "1")))


@pytest.fixture(autouse=True)
def _isolated_user_library(tmp_path_factory, monkeypatch):
    """Tests never read or write the real user library."""
    monkeypatch.setenv("FDIF_USER_LIBRARY", str(tmp_path_factory.mktemp("user_library")))
    from fdif_core.library import clear_cache

    clear_cache()
    yield
    clear_cache()
