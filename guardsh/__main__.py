import sys

from guardsh.cli import main

sys.exit(main())
