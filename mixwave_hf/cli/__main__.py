"""`python -m mixwave_hf.cli ...`: the `mixwave` command."""

import sys

from mixwave_hf.cli import main

sys.exit(main())
