"""``python -m fdif_core.cli`` (and ``torchrun -m fdif_core.cli train ...``) runs the CLI."""

import sys

from fdif_core.cli import main

sys.exit(main())
