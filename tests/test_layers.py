"""The layers' arrows point one way (docs/architecture.md): checked over every module's runtime imports."""

from __future__ import annotations

import ast
from pathlib import Path

import routecli

PACKAGE = Path(routecli.__file__).resolve().parent
TOP = {"top"}
# layer -> the layers its modules may import at run time
ALLOWED = {
    "top": TOP | {"cli"},  # __main__ starts the cli
    "cli": TOP | {"cli", "ui", "run", "routing", "policy", "providers", "ledger", "history", "local"},
    "ui": TOP | {"ui", "routing", "policy", "ledger", "history", "providers"},
    "run": TOP | {"run", "ui", "routing", "policy", "providers", "ledger", "history", "local"},
    "routing": TOP | {"routing", "policy"},
    "policy": TOP | {"policy", "providers"},  # the list of wires lives in the providers' registry
    "providers": TOP | {"providers"},
    "ledger": TOP | {"ledger", "policy"},
    "history": TOP | {"history"},  # the exchanges of ask, summarize and chat: beside the ledger, never in it
    "local": TOP | {"local", "policy"},
}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ALLOWED) else "top"


def _runtime_imports(tree: ast.Module) -> list[str]:
    """Imported routecli modules, leaving out `if TYPE_CHECKING:` blocks (types only, nothing runs)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(child) for child in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("routecli"):
            found += [node.module] if node.module != "routecli" else [f"routecli.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("routecli")]
    return found


def test_imports_follow_the_layers():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(("routecli", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
        for target in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if target != "routecli.__version__" and _layer(target) not in ALLOWED[_layer(module)]:
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_the_decision_imports_nothing_that_does_io():
    """decide.py may import types and pure functions only (prices: the PriceTable type and a constant)."""
    tree = ast.parse((PACKAGE / "routing" / "decide.py").read_text(encoding="utf-8"))
    pure = {
        "routecli.errors",
        "routecli.policy.types",
        "routecli.policy.prices",
        "routecli.routing.caps",  # pure: the worst case of one call, shared with the executor's guard
        "routecli.routing.classify",
        "routecli.routing.exclusions",
        "routecli.routing.options",
        "routecli.routing.refusal",
        "routecli.routing.tokens",
        "routecli.values",  # the @frozen decorator: no I/O
    }
    assert set(_runtime_imports(tree)) <= pure


def test_no_module_is_much_over_four_hundred_lines():
    long = {p.name: n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text(encoding="utf-8").splitlines())) > 430}
    assert long == {}
