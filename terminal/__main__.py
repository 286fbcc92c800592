import sys

from terminal.app import main

sys.exit(main())
