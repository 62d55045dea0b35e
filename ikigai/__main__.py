"""``python -m ikigai`` runs the ``ikigai`` command."""

import sys

from ikigai.cli.main import main

sys.exit(main())
