"""Closed-form 3 x 3 helpers against numpy's LAPACK results."""

import numpy as np
import pytest

from fdif_core.linalg3 import inverse3, spectral_norm3
from fdif_core.placement import Placement


def _orthogonal(rng: np.random.Generator) -> np.ndarray:
    return np.linalg.qr(rng.normal(size=(3, 3)))[0]


def test_inverse3_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    for _ in range(500):
        m = rng.normal(size=(3, 3))
        np.testing.assert_allclose(inverse3(m), np.linalg.inv(m), rtol=1e-9, atol=1e-9)


def test_inverse3_refuses_a_singular_matrix() -> None:
    with pytest.raises(ValueError, match="singular"):
        inverse3(np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]]))


@pytest.mark.parametrize("values", [
    (1.0, 1.0, 1.0),  # a rotation
    (2.0, 2.0, 0.5),  # two equal largest values: the closed form's worst case
    (3.0, 3.0 * (1 - 1e-9), 3.0 * (1 - 2e-9)),
    (1.5, 0.0, 0.0),  # rank one
    (0.7, 0.3, 0.1),
])
def test_spectral_norm3_bounds_the_norm_from_above_tightly(values) -> None:
    rng = np.random.default_rng(1)
    for _ in range(200):
        m = _orthogonal(rng) @ np.diag(values) @ _orthogonal(rng)
        exact = np.linalg.norm(m, 2)
        got = spectral_norm3(m)
        assert exact <= got <= exact * (1 + 2e-6)


def test_placement_map_is_the_inverse_of_the_local_to_world_map() -> None:
    p = Placement(1.0, 2.0, 3.0, 0.3, 1.2, -2.0, 0.05, -0.08, 0.03)
    np.testing.assert_allclose(p.world_to_local() @ p.rotation() @ p.shear(), np.eye(3),
                               atol=1e-12)
