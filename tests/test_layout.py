"""The layout shows the roles: Dagster objects under ``orchestration/defs/``, domain code beside
it importing nothing of ``defs/`` (the pipeline runner imports only ``defs/build.py``, the
assembler), and no import cycle between modules of ``orchestration`` (imports inside functions
count: a lazy import only hides a cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

from orchestration.config import REPO_ROOT

PACKAGE = REPO_ROOT / "orchestration"
# module -> the defs/ modules it may import (the job runner needs the assembled definitions)
ALLOWED = {"orchestration.pipeline": {"orchestration.defs.build"}}


def modules() -> dict[str, Path]:
    out = {}
    for p in PACKAGE.rglob("*.py"):
        parts = p.relative_to(REPO_ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


def imports(path: Path, known: set[str]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        found |= {n for n in names if n in known}
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {m: imports(p, set(mods)) - {m} for m, p in mods.items()}


def test_domain_code_imports_no_dagster_definitions() -> None:
    bad = {}
    for m, targets in graph().items():
        if m.startswith("orchestration.defs") or m == "orchestration.definitions":
            continue
        wrong = {
            t
            for t in targets
            if (t.startswith("orchestration.defs") or t == "orchestration.definitions")
            and t not in ALLOWED.get(m, set())
        }
        if wrong:
            bad[m] = sorted(wrong)
    assert bad == {}


def test_no_import_cycles() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the path, 2 = done
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for t in sorted(edges[m]):
            if state.get(t) == 1:
                cycles.append([*path[path.index(t) :], t])
            elif t not in state:
                visit(t)
        path.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)
    assert cycles == []


def test_the_checker_sees_a_cycle(tmp_path: Path) -> None:
    """The scan above finds function-level imports (how both former cycles were written)."""
    a = tmp_path / "a.py"
    a.write_text("def f():\n    from orchestration.close import close_period\n")
    assert imports(a, {"orchestration.close"}) == {"orchestration.close"}


def test_runtime_imports_dev_tools_only_from_their_commands() -> None:
    """``meterline_dev`` (generator, bench) is not the runtime: no module of ``orchestration``
    imports it, except the CLI's own ``generate`` and ``bench`` commands, lazily."""
    dev = REPO_ROOT / "meterline_dev"
    assert (dev / "generator" / "__init__.py").exists() and (dev / "bench.py").exists()
    assert not (PACKAGE / "generator").exists() and not (PACKAGE / "bench.py").exists()
    offenders: dict[str, list[str]] = {}
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top_level = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            mod = None
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                mod = node.module
            elif isinstance(node, ast.Import):
                mod = next((a.name for a in node.names if a.name.startswith("meterline_dev")), None)
            if not mod or not mod.startswith("meterline_dev"):
                continue
            if name == "orchestration.cli" and id(node) not in top_level:
                continue  # `meterline generate` / `meterline bench` import their tool lazily
            offenders.setdefault(name, []).append(mod)
    assert offenders == {}
