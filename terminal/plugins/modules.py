"""One plugin file made a module, and what its strategy classes are, as plain data (no Qt).

Used on both sides of a plugin check: the child process that imports an untrusted file
describes its classes with `inspect_file`; the terminal imports the very same bytes with
`import_source` only once that check passed (see `check` and `loader`).

- Each file becomes its own module with a unique name (`_terminal_plugin_<stem>_<hash of
  its path>`), made with `importlib.util.spec_from_file_location`. Nothing is added to
  `sys.path`, so a plugin cannot shadow an installed package or another plugin. The module is
  registered in `sys.modules` under that name (dataclasses, pickling within the process and
  `inspect` need it), and replaced there when the file is imported again.
- The source is read and compiled here, not through the import system's bytecode cache: no
  `__pycache__` appears in plugin folders, and a file edited twice within the same second
  (same size, same mtime in whole seconds) is never run from a stale cache.
- A file with no `CtaTemplate` subclass of its own is ignored (helpers). Classes a file only
  imports from elsewhere are not its strategies. A class vn.py could not create (it leaves
  out `on_init`, or a parameter has no default value) is a problem of the file and its other
  classes are used; an abstract base class that other classes of the file extend is skipped.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

MODULE_PREFIX = "_terminal_plugin_"
PLAIN_TYPES = (bool, int, float, str, type(None))
CLASS_LINE = re.compile(r"^[ \t]*class[ \t]+([A-Za-z_]\w*)", re.MULTILINE)

Signature = tuple[int, int, str]          # mtime_ns, size, sha1 of the content


@dataclass(frozen=True)
class ClassInfo:
    """What the terminal shows of a strategy class without importing it."""

    name: str
    author: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)   # name -> default value
    variables: tuple[str, ...] = ()
    doc: str = ""                   # the class docstring, dedented
    line: int | None = None

    def to_json(self) -> dict:
        return {"name": self.name, "author": self.author, "parameters": self.parameters,
                "variables": list(self.variables), "doc": self.doc, "line": self.line}

    @classmethod
    def from_json(cls, data: dict) -> ClassInfo:
        return cls(str(data["name"]), str(data.get("author", "")),
                   dict(data.get("parameters", {})), tuple(data.get("variables", ())),
                   str(data.get("doc", "")), data.get("line"))


@dataclass(frozen=True)
class FileCheck:
    """The verdict on one plugin file: its usable classes, or why it cannot be used.

    `error` is empty when the file imported; then `problems` names classes of it that vn.py
    could not create. `names` are the classes the file defines by its text (read without
    running it), so a message about a file that failed can say which strategies it holds.
    """

    path: str
    signature: Signature
    classes: tuple[ClassInfo, ...] = ()
    problems: tuple[str, ...] = ()
    error: str = ""
    details: str = ""                    # the full traceback, for a details view
    names: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.error

    def to_json(self) -> dict:
        return {"path": self.path, "signature": list(self.signature),
                "classes": [c.to_json() for c in self.classes],
                "problems": list(self.problems), "error": self.error,
                "details": self.details, "names": list(self.names)}

    @classmethod
    def from_json(cls, data: dict) -> FileCheck:
        mtime, size, digest = data["signature"]
        return cls(str(data["path"]), (int(mtime), int(size), str(digest)),
                   tuple(ClassInfo.from_json(c) for c in data.get("classes", ())),
                   tuple(str(p) for p in data.get("problems", ())),
                   str(data.get("error", "")), str(data.get("details", "")),
                   tuple(str(n) for n in data.get("names", ())))


# --------------------------------------------------------------------------- the file
def read_source(path: Path) -> tuple[bytes, Signature]:
    """The file's bytes and their signature (raises OSError)."""
    stat = path.stat()
    source = path.read_bytes()
    digest = hashlib.sha1(source, usedforsecurity=False).hexdigest()  # a change, not a secret
    return source, (stat.st_mtime_ns, len(source), digest)


def signature_of(path: Path) -> Signature | None:
    """mtime_ns, size and digest of a file, or None when it cannot be read."""
    try:
        return read_source(path)[1]
    except OSError:
        return None


def module_name_for(path: Path) -> str:
    """The unique module name a plugin file is imported under: its stem (made an identifier)
    and a hash of its resolved path, so two folders' `macd.py` never collide."""
    resolved = str(Path(path).resolve())
    stem = re.sub(r"\W", "_", Path(path).stem)
    digest = hashlib.sha1(resolved.encode(), usedforsecurity=False).hexdigest()
    return f"{MODULE_PREFIX}{stem}_{digest[:12]}"


def defined_names(source: bytes) -> tuple[str, ...]:
    """The names of the classes a file's text defines (read, not run); for a file that does
    not parse, the names on its `class NAME` lines."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        text = source.decode("utf-8", "replace")
        return tuple(dict.fromkeys(CLASS_LINE.findall(text)))
    return tuple(dict.fromkeys(node.name for node in ast.walk(tree)
                               if isinstance(node, ast.ClassDef)))


def import_source(path: Path, source: bytes, module_name: str) -> ModuleType:
    """Execute `source` (the bytes of `path`) as a fresh module registered under
    `module_name`; on failure the old registration (if any) is kept and the exception
    propagates."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None:
        raise ImportError(f"cannot make a module of {path}")
    module = importlib.util.module_from_spec(spec)
    code = compile(source, str(path), "exec", dont_inherit=True)
    previous = sys.modules.get(module_name)
    sys.modules[module_name] = module          # visible while it runs, as an import does
    try:
        exec(code, module.__dict__)  # noqa: S102 - running plugin code is the point
    except BaseException:
        if previous is not None:
            sys.modules[module_name] = previous
        else:
            sys.modules.pop(module_name, None)
        raise
    return module


def describe_error(exc: BaseException, path: Path) -> str:
    """`Type: message (line N)`, the line being where in `path` it went wrong."""
    line = None
    if isinstance(exc, SyntaxError) and exc.lineno:
        same_file = not exc.filename or Path(exc.filename).resolve() == path.resolve()
        line = exc.lineno if same_file else None
        message = exc.msg
    else:
        message = str(exc)
    if line is None:
        for frame, lineno in traceback.walk_tb(exc.__traceback__):
            if Path(frame.f_code.co_filename).resolve() == path.resolve():
                line = lineno
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return f"{text} (line {line})" if line else text


# --------------------------------------------------------------------------- its classes
def cta_template() -> tuple[type, tuple[type, ...]]:
    from vnpy_ctastrategy.template import CtaTemplate, TargetPosTemplate

    return CtaTemplate, (CtaTemplate, TargetPosTemplate)


def strategy_classes(module: ModuleType) -> list[type]:
    """The CtaTemplate subclasses a module defines itself (not the ones it imports), in the
    order they appear, the templates left out."""
    base, templates = cta_template()
    return [value for value in list(vars(module).values())
            if isinstance(value, type) and issubclass(value, base) and value not in templates
            and value.__module__ == module.__name__]


def usable_classes(classes: list[type]) -> tuple[list[type], list[str]]:
    """The classes vn.py can use, and a message for each it cannot: one that leaves out an
    abstract method (`on_init`) and is no base of another class of the file, or
    whose parameters lack default values. An abstract base class of the file is skipped."""
    usable, problems = [], []
    for cls in classes:
        if inspect.isabstract(cls):
            if any(other is not cls and issubclass(other, cls) for other in classes):
                continue
            missing = ", ".join(sorted(cls.__abstractmethods__))
            line = class_line(cls)
            problems.append(f"TypeError: {cls.__name__} cannot be created: it does not define "
                            f"{missing}" + (f" (line {line})" if line else ""))
            continue
        try:
            parameter_defaults(cls)
        except AttributeError as exc:
            line = class_line(cls)
            problems.append(f"AttributeError: {exc}" + (f" (line {line})" if line else ""))
            continue
        usable.append(cls)
    return usable, problems


def class_line(cls: type) -> int | None:
    try:
        return inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        return None


def parameter_defaults(cls: type) -> dict[str, Any]:
    """The class's parameters with their default values; raises naming a parameter the
    class does not define (vn.py's own `get_class_parameters` would raise later)."""
    values = {}
    for name in getattr(cls, "parameters", []) or []:
        if not hasattr(cls, name):
            raise AttributeError(f"{cls.__name__}: parameter {name!r} has no default value "
                                 "in the class")
        values[name] = getattr(cls, name)
    return values


def plain(value: Any) -> Any:
    """A default value as plain data (what travels out of a check process and into the cache):
    bool, int, float, str and None as they are, anything else as its repr."""
    return value if isinstance(value, PLAIN_TYPES) else repr(value)


def class_info(cls: type) -> ClassInfo:
    return ClassInfo(
        name=cls.__name__, author=str(getattr(cls, "author", "") or ""),
        parameters={str(k): plain(v) for k, v in parameter_defaults(cls).items()},
        variables=tuple(str(v) for v in getattr(cls, "variables", []) or []),
        doc=inspect.cleandoc(cls.__doc__ or ""), line=class_line(cls))


def inspect_module(module: ModuleType) -> tuple[list[type], tuple[ClassInfo, ...],
                                                tuple[str, ...]]:
    """A module's usable strategy classes, their descriptions and the problems of the rest."""
    classes, problems = usable_classes(strategy_classes(module))
    return classes, tuple(class_info(cls) for cls in classes), tuple(problems)


def inspect_file(path: Path) -> tuple[FileCheck, ModuleType | None, list[type]]:
    """Import a file here and describe it. Every exception (a syntax error, a missing import,
    one raised by module code, even `SystemExit`) becomes the verdict's error; what a file
    does that no exception reports (it ends the process, or never returns) is for the caller
    to survive: untrusted files run here only inside a check process."""
    try:
        source, signature = read_source(path)
    except OSError as exc:
        return FileCheck(str(path), (0, 0, ""), error=f"OSError: the file cannot be read: "
                                                      f"{exc.strerror or exc}"), None, []
    try:
        module = import_source(path, source, module_name_for(path))
        module.__plugin_signature__ = signature
        classes, infos, problems = inspect_module(module)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - it is the file's error
        return FileCheck(str(path), signature, error=describe_error(exc, path),
                         details="".join(traceback.format_exception(exc)),
                         names=defined_names(source)), None, []
    return FileCheck(str(path), signature, infos, problems,
                     names=defined_names(source)), module, classes
