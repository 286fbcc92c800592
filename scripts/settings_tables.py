"""Write the settings tables of docs/user-guide.md from the program's one description of each
field (`terminal.core.fields`): run after adding or changing a setting or a risk limit.

    .venv/bin/python scripts/settings_tables.py          # rewrite the tables in place
    .venv/bin/python scripts/settings_tables.py --check  # exit 1 when the guide is behind
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "user-guide.md"


def tables() -> dict[str, str]:
    from terminal.core import settings
    from terminal.core.fields import markdown_table
    from terminal.risk import limits

    return {"settings.json": markdown_table(settings.SPECS),
            "risk.json limits": markdown_table(limits.LIMIT_SPECS),
            "risk.json monitors": markdown_table(limits.MONITOR_SPECS)}


def rewritten(text: str) -> str:
    """`text` with every generated block replaced by the table the program describes now."""
    for name, table in tables().items():
        pattern = re.compile(rf"(<!-- generated: {re.escape(name)} -->\n)(?:.*?\n)??(<!-- end -->)",
                             re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(f"{GUIDE}: no generated block for {name}")
        text = pattern.sub(
            lambda match, table=table: match.group(1) + table + "\n" + match.group(2), text)
    return text


def main(argv: list[str]) -> int:
    text = GUIDE.read_text(encoding="utf-8")
    new = rewritten(text)
    if "--check" in argv:
        if new != text:
            print(f"{GUIDE} is behind the settings' description: run {__file__}")
            return 1
        return 0
    GUIDE.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
