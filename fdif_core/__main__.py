"""``python -m fdif_core`` runs the CLI."""

import sys

from fdif_core.cli import main

sys.exit(main())
