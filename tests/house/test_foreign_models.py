"""Apps call each other's services, never each other's models: no module of an app queries,
locks or writes through the manager of a model another app defines.

Checked for the apps that have reached zero; an app joins ``CHECKED`` when it has.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("common", "accounts", "outcomes", "accreditation", "transfers", "creditbank")
CHECKED = ("outcomes", "accreditation")
MANAGERS = {"objects", "_default_manager", "_base_manager"}


def foreign_manager_uses(source: str, app: str) -> list[tuple[int, str]]:
    """``(line, "Model.objects")`` for each manager of another app's model used in ``source``."""
    tree = ast.parse(source)
    foreign: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            top = node.module.split(".")[0]
            if top in APPS and top != app and node.module.endswith("models"):
                foreign |= {alias.asname or alias.name for alias in node.names}
    return [
        (node.lineno, f"{node.value.id}.{node.attr}")
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in MANAGERS
        and isinstance(node.value, ast.Name)
        and node.value.id in foreign
    ]


def test_it_finds_a_manager_of_another_apps_model():
    source = "from accounts.models import User\nUser.objects.filter(is_active=True)\n"
    assert foreign_manager_uses(source, "accreditation") == [(2, "User.objects")]
    assert foreign_manager_uses(source, "accounts") == []


@pytest.mark.parametrize("app", CHECKED)
def test_it_keeps_the_app_off_other_apps_models(app):
    found = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
        for line, what in foreign_manager_uses(path.read_text(encoding="utf-8"), app)
    ]
    assert found == []
