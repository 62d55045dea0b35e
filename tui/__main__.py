"""``python -m tui`` runs the ``ikigai`` command."""

import sys

from tui.cli import main

sys.exit(main())
