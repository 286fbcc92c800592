"""Names the trader gives to what the terminal keeps (workspaces, chart templates): one rule
for all, so a name is kept as typed (spaces trimmed) and is safe as a file name on every
system. The error says which rule a name broke: no path separators or characters Windows
refuses, no control characters, no names Windows reserves for devices, no leading or trailing
dot, not empty, not too long.
"""

from __future__ import annotations

import re

MAX_LENGTH = 64
_FORBIDDEN = set('/\\:*?"<>|')
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{n}" for n in range(1, 10)),
             *(f"lpt{n}" for n in range(1, 10))}


class BadName(ValueError):
    """A name that breaks one of the rules; the message names the rule."""


def check_name(name: str, what: str) -> str:
    """`name` as it will be kept, or BadName; `what` is the kind of thing named ("workspace")."""
    if not isinstance(name, str):
        raise BadName(f"a {what} name must be text")
    name = name.strip()
    if not name:
        raise BadName(f"a {what} needs a name")
    if len(name) > MAX_LENGTH:
        raise BadName(f"the name is {len(name)} characters long; at most {MAX_LENGTH}")
    bad = sorted({c for c in name if c in _FORBIDDEN})
    if bad:
        raise BadName(f"{name!r}: a {what} name may not contain "
                      f"{' '.join(bad)} (no folders, no path separators)")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise BadName(f"{name!r}: a {what} name may not contain control characters")
    if name.startswith(".") or name.endswith("."):
        raise BadName(f"{name!r}: a {what} name may not start or end with a dot")
    if re.split(r"[ .]", name.casefold(), maxsplit=1)[0] in _RESERVED:
        raise BadName(f"{name!r} is a device name on Windows; choose another name")
    return name
