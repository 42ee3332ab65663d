"""`python -m stepwise_kernel ...` runs the bundled `stepwise` binary, like the `stepwise` command."""
import sys

from stepwise_kernel import main

sys.exit(main())
