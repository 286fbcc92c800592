"""Chart templates: a chart's indicators and their settings, and its volume profile's mode and
row size, kept under a name, to put on any chart, and the one new charts open with (the
default). Applying a template makes the chart look like it: a template that holds no profile
(one saved before templates kept it) turns the chart's profile off.

All templates are one JSON file in the data directory (`DataPaths.chart_templates_file`),
written whole and atomically (`core.jsonfile`) after every change, so a crash leaves the old
file or the new one. Names follow the rule workspaces' names follow (`core.names`) and are
compared without regard to case. Every indicator is checked against the indicator registry
(`market.indicators.SPECS`), and the profile's settings by the profile's own check
(`market.volume_profile.check_settings`), before they are kept and again when the file is read:
a file that cannot be read, or holds anything that is not a template of valid indicators and
profile settings, is kept aside
(`<name>.broken-<time>`) and named in `problem`; the terminal starts with no templates rather
than a part of them, and the next save writes a new file.

Format: {"version": 2, "default": "<name>" or null,
         "templates": [{"name": "...", "indicators": [{"kind": "MA", "params": {"n": 20}}],
                        "volume_profile": {"mode": "session", "ticks_per_row": null}}]}
Version 1 (read as before; written no more) has no "volume_profile": its templates turn the
profile off.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from terminal.core import names
from terminal.core.aside import set_aside
from terminal.core.jsonfile import MISSING, read_or_set_aside, write_json
from terminal.market import volume_profile
from terminal.market.indicators import SPECS

VERSION = 2
READS = (1, 2)                             # version 1: no volume profile

Indicators = list[dict[str, Any]]          # [{"kind": "MA", "params": {"n": 20}}, ...]
ProfileSettings = dict[str, Any]           # {"mode": "visible", "ticks_per_row": None}


class Template(NamedTuple):
    name: str
    indicators: Indicators
    volume_profile: ProfileSettings


class TemplateError(ValueError):
    """A name, an indicator or a file that cannot be used; the message says which and why."""


def check_name(name: str) -> str:
    try:
        return names.check_name(name, "template")
    except names.BadName as exc:
        raise TemplateError(str(exc)) from None


def check_indicators(items: object, where: str = "the template") -> Indicators:
    """The indicators as kept: each a known kind with every parameter checked and filled in;
    TemplateError names the first one that is not."""
    if not isinstance(items, (list, tuple)):
        raise TemplateError(f"{where}: the indicators must be a list, got {type(items).__name__}")
    checked: Indicators = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, Mapping) or not isinstance(item.get("kind"), str):
            raise TemplateError(f"{where}, indicator {number}: not a kind with parameters "
                                f"({item!r:.60})")
        spec = SPECS.get(item["kind"])
        if spec is None:
            raise TemplateError(f"{where}, indicator {number}: no indicator {item['kind']!r} "
                                f"(one of {', '.join(SPECS)})")
        params = item.get("params") or {}
        if not isinstance(params, Mapping):
            raise TemplateError(f"{where}, indicator {number} ({spec.kind}): the parameters "
                                f"must be an object, got {params!r:.60}")
        try:
            checked.append({"kind": spec.kind, "params": spec.validate(params)})
        except ValueError as exc:
            raise TemplateError(f"{where}, indicator {number} ({spec.kind}): {exc}") from None
    return checked


def check_profile(settings: object, where: str = "the template") -> ProfileSettings:
    """The volume profile's settings as kept; TemplateError says what is wrong with them."""
    try:
        return volume_profile.check_settings(settings)
    except ValueError as exc:
        raise TemplateError(f"{where}: {exc}") from None


def _parse(data: object, file: str) -> tuple[dict[str, Template], str | None]:
    """(casefolded name -> template, default name) of the file's content."""
    if not isinstance(data, dict):
        raise TemplateError(f"{file} holds {type(data).__name__}, not an object")
    version = data.get("version")
    if version not in READS or isinstance(version, bool):
        raise TemplateError(f"{file}: version {version!r}; this terminal reads "
                            f"version {' or '.join(map(str, READS))}")
    listed = data.get("templates")
    if not isinstance(listed, list):
        raise TemplateError(f"{file}: 'templates' must be a list")
    templates: dict[str, Template] = {}
    for number, entry in enumerate(listed, 1):
        if not isinstance(entry, dict):
            raise TemplateError(f"{file}: template {number} is not an object")
        try:
            name = check_name(entry.get("name"))
        except TemplateError as exc:
            raise TemplateError(f"{file}: template {number}: {exc}") from None
        if name.casefold() in templates:
            raise TemplateError(f"{file}: the name {name!r} is there twice")
        where = f"{file}, template {name!r}"
        if version == 1:
            profile = dict(volume_profile.OFF)
        elif "volume_profile" not in entry:
            raise TemplateError(f"{where}: no volume profile settings")
        else:
            profile = check_profile(entry["volume_profile"], where)
        templates[name.casefold()] = Template(
            name, check_indicators(entry.get("indicators"), where), profile)
    default = data.get("default")
    if default is not None and (not isinstance(default, str)
                                or default.casefold() not in templates):
        raise TemplateError(f"{file}: the default {default!r} is not one of its templates")
    return templates, templates[default.casefold()].name if default is not None else None


class ChartTemplates:
    def __init__(self, path: Path) -> None:
        """The templates kept in `path` (none yet when there is no file); `problem` says what
        was wrong with a file that could not be used and where it was kept."""
        self.path = Path(path)
        self._templates: dict[str, Template] = {}
        self._default: str | None = None
        data, self.problem = read_or_set_aside(self.path)
        if data is not MISSING:
            try:
                self._templates, self._default = _parse(data, self.path.name)
            except TemplateError as exc:
                try:
                    kept = f"the file kept as {set_aside(self.path).name}"
                except OSError as move:
                    kept = f"the file could not be moved aside ({move})"
                self.problem = f"{exc}; {kept}"
        if self.problem:
            self.problem += ". No chart templates until one is saved."
        # A bad file that could not be moved aside is never written over.
        self._unwritable = bool(self.problem) and self.path.exists()

    # ------------------------------------------------------------------ reading
    def names(self) -> list[str]:
        return sorted((t.name for t in self._templates.values()), key=str.casefold)

    def exists(self, name: str) -> bool:
        return isinstance(name, str) and name.strip().casefold() in self._templates

    def indicators(self, name: str) -> Indicators:
        """A copy of the template's indicators; TemplateError when there is none of that name."""
        return copy.deepcopy(self._find(name).indicators)

    def volume_profile(self, name: str) -> ProfileSettings:
        """A copy of the template's volume profile settings (mode "off" in one that holds none);
        TemplateError when there is no template of that name."""
        return dict(self._find(name).volume_profile)

    @property
    def default(self) -> str | None:
        """The template new charts open with (None: they open with no indicators)."""
        return self._default

    def default_indicators(self) -> Indicators:
        return self.indicators(self._default) if self._default is not None else []

    def default_volume_profile(self) -> ProfileSettings:
        """The default template's profile settings; off when there is no default."""
        return (self.volume_profile(self._default) if self._default is not None
                else dict(volume_profile.OFF))

    # ------------------------------------------------------------------ changing
    def save(self, name: str, indicators: Iterable[Mapping[str, Any]],
             profile: Mapping[str, Any] | None = None) -> str:
        """Keep `indicators` and the volume `profile`'s settings (None: off) as `name`
        (replacing one of that name in any case); the name as kept. Nothing changes when the
        name, an indicator, the profile or the write fails."""
        name = check_name(name)
        checked = check_indicators(list(indicators), f"template {name!r}")
        settings = check_profile(volume_profile.OFF if profile is None else profile,
                                 f"template {name!r}")
        templates = dict(self._templates)
        templates.pop(name.casefold(), None)
        templates[name.casefold()] = Template(name, checked, settings)
        default = self._default
        if default is not None and default.casefold() == name.casefold():
            default = name
        self._write(templates, default)
        return name

    def delete(self, name: str) -> None:
        """Remove the template (and the default mark, if it had it)."""
        found = self._find(name)
        templates = {key: value for key, value in self._templates.items()
                     if key != found.name.casefold()}
        default = None if self._default == found.name else self._default
        self._write(templates, default)

    def set_default(self, name: str | None) -> None:
        """New charts open with `name`'s indicators (None: with none)."""
        self._write(self._templates, None if name is None else self._find(name).name)

    def _find(self, name: str) -> Template:
        found = self._templates.get(name.strip().casefold()) if isinstance(name, str) else None
        if found is None:
            raise TemplateError(f"there is no chart template named {name!r}")
        return found

    def _write(self, templates: dict[str, Template], default: str | None) -> None:
        if self._unwritable:
            raise TemplateError(f"{self.path} cannot be read and could not be moved aside; "
                                f"move it away to keep templates")
        data = {"version": VERSION, "default": default,
                "templates": [{"name": t.name, "indicators": t.indicators,
                               "volume_profile": t.volume_profile}
                              for t in sorted(templates.values(),
                                              key=lambda t: t.name.casefold())]}
        try:
            write_json(self.path, data)
        except OSError as exc:
            raise TemplateError(f"chart templates could not be written to {self.path}: "
                                f"{exc}") from None
        self._templates, self._default = templates, default
