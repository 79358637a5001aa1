"""What to run after an export: the nnU-Net v2 commands for a finished nnU-Net dataset.

The pre-training route follows nnU-Net's own guide (``pretraining_and_finetuning.md``): plan the
target dataset, extract the fingerprint of the synthetic one, move the target's plans onto it,
preprocess it with them, train it on ``all`` and fine-tune the target from that checkpoint.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from fdif_core.datasets.layout import Layout

TARGET = "TARGET"  # placeholder for the user's own dataset id
CONFIGURATION = "3d_fullres"


def nnunet_next_steps(layout: Layout, out: Path) -> list[str]:
    """The commands to plan, pre-train on and fine-tune from an nnU-Net export.

    Parameters
    ----------
    layout : Layout
        The finished export (format ``nnunet``).
    out : Path
        Its ``nnUNet_raw`` folder.

    Returns
    -------
    list of str
        Lines of text: comments start with ``#``, the others are shell commands.
    """
    ident = str(layout.dataset_id)
    plans = f"nnUNetPlans_{TARGET}"
    checkpoint = (f"$nnUNet_results/{layout.train_dataset}/nnUNetTrainer__{plans}__"
                  f"{CONFIGURATION}/fold_all/checkpoint_final.pth")
    lines = [
        f"export nnUNet_raw={shlex.quote(str(Path(out).resolve()))}  # and set "
        "nnUNet_preprocessed, nnUNet_results",
        "# plan and preprocess this dataset (checks it first):",
        f"nnUNetv2_plan_and_preprocess -d {ident} --verify_dataset_integrity",
        f"# or pre-train on it for your own dataset {TARGET} (its id) and fine-tune:",
        f"nnUNetv2_plan_and_preprocess -d {TARGET} --verify_dataset_integrity",
        f"nnUNetv2_extract_fingerprint -d {ident} --verify_dataset_integrity",
        f"nnUNetv2_move_plans_between_datasets -s {TARGET} -t {ident} -sp nnUNetPlans "
        f"-tp {plans}",
        f"nnUNetv2_preprocess -d {ident} -plans_name {plans} -c {CONFIGURATION}",
        f"nnUNetv2_train {ident} {CONFIGURATION} all -p {plans}",
        f"nnUNetv2_train {TARGET} {CONFIGURATION} 0 -pretrained_weights {checkpoint}",
    ]
    if layout.num_val:
        lines.append(f"# {layout.val_dataset} (id {layout.dataset_id + 1}) holds the "
                     f"{layout.num_val} validation samples as a dataset of its own")
    return lines
