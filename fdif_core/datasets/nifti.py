"""Deterministic NIfTI-1 files: the same array always gives the same ``.nii.gz`` bytes.

nibabel builds the header and the uncompressed image in memory; the bytes are gzipped with a
zero modification time and no file name, so they depend only on the array and the
compression level, not on when or where they were written.
"""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np

DEFAULT_LEVEL = 1  # nibabel's own default for .nii.gz


def nifti_bytes(array: np.ndarray, level: int = DEFAULT_LEVEL) -> bytes:
    """Encode an array as ``.nii.gz`` bytes with the identity affine (1 mm voxels).

    Parameters
    ----------
    array : numpy.ndarray
        3D ``(D, H, W)`` or 4D ``(D, H, W, T)`` array, written as-is: NIfTI axis 0 is the
        array's axis 0 (spec §12.1).
    level : int
        gzip level 0 (stored) to 9 (smallest).

    Returns
    -------
    bytes
        A gzip stream with ``mtime = 0``.
    """
    if not 0 <= level <= 9:
        raise ValueError(f"gzip level {level} is outside 0..9")
    image = nib.Nifti1Image(np.ascontiguousarray(array), np.eye(4))
    image.header.set_xyzt_units("mm")
    return gzip.compress(image.to_bytes(), compresslevel=level, mtime=0)


def label_dtype(max_id: int, choice: str = "auto") -> np.dtype:
    """The integer type labels are stored in.

    ``auto`` picks the smallest type that holds ``max_id`` and that both MONAI and nnU-Net
    read: ``uint8`` up to 255, ``int16`` up to 32767, else ``int32`` (the reference's type).
    """
    if choice == "auto":
        if max_id <= np.iinfo(np.uint8).max:
            return np.dtype(np.uint8)
        if max_id <= np.iinfo(np.int16).max:
            return np.dtype(np.int16)
        return np.dtype(np.int32)
    dtype = np.dtype(choice)
    if dtype.kind not in "iu" or max_id > np.iinfo(dtype).max:
        raise ValueError(f"label type {choice} cannot hold class id {max_id}")
    return dtype
