import sys

from stdcrawl.cli import main

sys.exit(main())
