"""The check in `make lint` that no app uses another app's private names."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location(
    "private_names", ROOT / "scripts/lint/private_names.py"
)
assert spec is not None
assert spec.loader is not None
private_names = importlib.util.module_from_spec(spec)
spec.loader.exec_module(private_names)


def found(source: str, module: str = "outcomes.batches") -> list[str]:
    return [what for _line, what in private_names.uses(source, module)]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from accounts.imports import _csv_rows", ["imports accounts.imports._csv_rows"]),
        (
            "from accounts import imports\nimports._heading_key('x')",
            ["uses accounts.imports._heading_key"],
        ),
        ("import accounts.imports as im\nim._is_blank(())", ["uses accounts.imports._is_blank"]),
        (
            "from accounts._internal import thing",
            ["imports from the private module accounts._internal"],
        ),
    ],
)
def test_it_finds_a_private_name_of_another_app(source, expected):
    assert found(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        "from accounts.services import account_lock",
        "from accounts import models\nmodels.__all__",
        "from . import _helpers\n_helpers._x()",  # its own app
        "from outcomes.services import _store",  # its own app
        "from django.utils import _os",  # not an app of the portal
    ],
)
def test_it_lets_public_and_own_names_pass(source):
    assert found(source) == []


def test_a_relative_import_is_resolved_to_its_app():
    assert found("from ..accounts.imports import _x", module="transfers.certificates.pdf") == []
    assert found("from .imports import _x", module="accounts.collective.views") == []


def test_no_app_uses_another_apps_private_names():
    assert private_names.check(ROOT) == []
