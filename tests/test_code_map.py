"""The code map holds: every module sits on a level, imports only from its own level or below,
no two packages import each other, and the README's Code map names every package and module."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "dltp"

# Lowest first. A module may import from its own level or a lower one, never a higher one.
LEVELS = {
    "dltp": 0, "dltp.errors": 0, "dltp.config": 0, "dltp.references": 0, "dltp.registry": 0, "dltp.tables": 0,
    "dltp.data": 1, "dltp.models": 1, "dltp.metrics": 1, "dltp.losses": 1, "dltp.backends": 1,
    "dltp.compile_cache": 1,
    "dltp.tracking": 2, "dltp.training": 2, "dltp.plots": 2,
    "dltp.labs": 3, "dltp.serve": 3,
    "dltp.research": 4, "dltp.sweep": 4, "dltp.report": 4,
    "dltp.child": 5, "dltp.lanes": 5, "dltp.cli": 5, "dltp.__main__": 5,
    "dltp.notebook": 5,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join(("dltp", *parts))


def group(module: str) -> str:
    """The map's unit: a subpackage (dltp.labs) or a top-level module (dltp.cli)."""
    return ".".join(module.split(".")[:2])


def imports() -> dict[str, set[str]]:
    """Every dltp module -> the dltp modules it imports (at top level or inside a function)."""
    modules = {module_name(p): p for p in SRC.rglob("*.py")}
    found = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("dltp"):
                for alias in node.names:  # `from dltp import backends` imports the module dltp.backends
                    full = f"{node.module}.{alias.name}"
                    targets.add(full if full in modules else node.module)
            elif isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names if alias.name.startswith("dltp")}
        found[name] = targets
    return found


def test_every_package_and_module_is_on_a_level():
    missing = sorted({group(m) for m in imports()} - set(LEVELS))
    assert not missing, f"put these on a level in LEVELS and in the README's Code map: {missing}"


def test_no_import_runs_up_a_level():
    upward = [f"{source} imports {target}" for source, targets in imports().items() for target in targets
              if LEVELS[group(target)] > LEVELS[group(source)]]
    assert not upward


def test_no_two_packages_import_each_other():
    edges = {(group(s), group(t)) for s, targets in imports().items() for t in targets if group(s) != group(t)}
    circles = sorted(f"{a} <-> {b}" for a, b in edges if (b, a) in edges and a < b)
    assert not circles


def test_the_readme_code_map_names_every_package_and_module():
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^## Code map\n(.*?)(?=^## )", readme, re.S | re.M)
    assert section, "README.md has no '## Code map' section"
    named = set(re.findall(r"`(dltp(?:\.\w+)?)`", section.group(1)))
    groups = {group(m) for m in imports()} - {"dltp.__main__"}
    assert not sorted(groups - named)
