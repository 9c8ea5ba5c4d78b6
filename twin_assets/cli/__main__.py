"""``python -m twin_assets.cli``: the ``twin`` command line."""

import sys

from twin_assets.cli.commands import main

sys.exit(main())
