import sys

from connex.cli import main

sys.exit(main())
