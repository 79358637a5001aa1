"""Dataset export: MONAI Decathlon, nnU-Net v2 and classification sets (spec §12).

:func:`~fdif_core.datasets.generate.generate` is the job behind ``fdif generate``; the other
modules are its parts: :mod:`~fdif_core.datasets.layout` (paths and index files per format),
:mod:`~fdif_core.datasets.nifti` (deterministic ``.nii.gz``), :mod:`~fdif_core.datasets.storage`
(atomic writes), :mod:`~fdif_core.datasets.writer` (background writer threads),
:mod:`~fdif_core.datasets.producer` (one sample's files), :mod:`~fdif_core.datasets.manifest`
(resume), :mod:`~fdif_core.datasets.folders` (which folders a job owns: one ``nnUNet_raw`` holds
many datasets), :mod:`~fdif_core.datasets.lock` (one run per dataset folder),
:mod:`~fdif_core.datasets.progress` (progress phases), :mod:`~fdif_core.datasets.card` (the
dataset card) and :mod:`~fdif_core.datasets.next_steps` (the nnU-Net commands to run next).
"""

from fdif_core.datasets.generate import GenerateConfig, generate
from fdif_core.datasets.layout import FORMATS, LabelInfo, Layout

__all__ = ["FORMATS", "GenerateConfig", "LabelInfo", "Layout", "generate"]
