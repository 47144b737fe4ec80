"""`python -m mixwave_hf.cli ...`: the `mixwave` command."""

import sys

from mixwave_hf.cli import main

if __name__ == "__main__":
    sys.exit(main())
