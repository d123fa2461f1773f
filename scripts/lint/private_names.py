"""No app uses another app's private names (``make lint``).

A name that starts with an underscore is private to its app: another app that needs it asks for
a public service instead. This finds, in the product's packages (not tests, not migrations):

- ``from other_app.module import _name`` and imports of another app's ``_private`` module;
- ``module._name`` where ``module`` was imported from another app (``from accounts import
  imports`` then ``imports._csv_rows(...)``, or ``import accounts.imports as imports``).

Exit status 1 with one line per use when any is found. Dunder names (``__all__``) are public.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

APPS = ("common", "accounts", "outcomes", "accreditation", "transfers", "creditbank")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _app_of(dotted: str) -> str | None:
    top = dotted.split(".", 1)[0]
    return top if top in APPS else None


def _module_of(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _absolute(module: str | None, level: int, here: str, is_package: bool) -> str:
    """The dotted name a (possibly relative) ``from ... import`` refers to."""
    if level == 0:
        return module or ""
    base = here.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def uses(source: str, module: str, is_package: bool = False) -> Iterator[tuple[int, str]]:
    """(line, what) for every use of another app's private name in ``source``, the text of
    ``module`` (its dotted name)."""
    own_app = _app_of(module)
    tree = ast.parse(source)
    foreign_modules: dict[str, str] = {}  # local name -> the other app's module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                app = _app_of(alias.name)
                if app is None or app == own_app:
                    continue
                if any(_private(part) for part in alias.name.split(".")):
                    yield node.lineno, f"imports the private module {alias.name}"
                if alias.asname:
                    foreign_modules[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(node.module, node.level, module, is_package)
            app = _app_of(target)
            if app is None or app == own_app:
                continue
            if any(_private(part) for part in target.split(".")):
                yield node.lineno, f"imports from the private module {target}"
            for alias in node.names:
                if _private(alias.name):
                    yield node.lineno, f"imports {target}.{alias.name}"
                else:
                    # Perhaps a module (``from accounts import imports``); an attribute taken
                    # from it below is checked the same way.
                    foreign_modules[alias.asname or alias.name] = f"{target}.{alias.name}"
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in foreign_modules
            and _private(node.attr)
        ):
            yield node.lineno, f"uses {foreign_modules[node.value.id]}.{node.attr}"


def check(root: Path) -> list[str]:
    found = []
    for app in APPS:
        for path in sorted((root / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            module = _module_of(path, root)
            is_package = path.name == "__init__.py"
            for line, what in uses(path.read_text(encoding="utf-8"), module, is_package):
                found.append(f"{path.relative_to(root)}:{line}: {what}")
    return found


def main() -> int:
    root = Path(__file__).resolve().parents[2]
    found = check(root)
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} uses of other apps' private names (ask for a public service instead)")
        return 1
    print("No app uses another app's private names.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
