import sys

from terminal.app.main import main

sys.exit(main())
