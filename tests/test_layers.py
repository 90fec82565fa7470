"""The import contracts cover the whole infrastructure: a new module of streamlite/ is either wiring (it may
import apps) or named in the "Infrastructure knows no app" contract, never silently in neither."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_streamlite_module_is_wiring_or_under_the_infrastructure_contract():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(c for c in config if c["type"] == "layers")["layers"]
    wiring = {name.strip() for name in layers[0].split(":")} | {"streamlite.wsgi"}
    infrastructure = set(next(c for c in config if c["type"] == "forbidden")["source_modules"])
    modules = {
        f"streamlite.{path.stem}" if path.name != "__init__.py" else f"streamlite.{path.parent.name}"
        for path in (ROOT / "streamlite").glob("*.py")
        if path.name != "__init__.py"
    } | {"streamlite.settings"}
    assert modules - wiring - infrastructure == set()
    assert infrastructure & wiring == set()
