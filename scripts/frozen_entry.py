"""Entry script of the PyInstaller build (`build.spec`): the same as the `trading-terminal`
console script. Kept outside the `terminal` package so that PyInstaller does not put the
package folder itself on the module search path."""

import sys

from terminal.app.main import main

if __name__ == "__main__":
    sys.exit(main())
