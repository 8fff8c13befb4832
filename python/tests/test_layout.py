"""The package's shape: imports run one way between its rooms, with no circle, and every file stays short.

Rooms (docs/architecture.md): the public face (api, __main__, __init__, child, breakhook, lazystart) -> inject
(loading into a running process; face-level, imports only the base), job / session -> tracer / wire -> the base
(errors, log, processinfo, program, _threads). Every import counts, including those inside functions.
"""

import ast
import os
import unittest

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "longreach")

# room -> the rooms it may import (besides itself)
ALLOWED = {
    "base": set(),
    "wire": {"base"},
    "tracer": {"base"},
    "session": {"tracer", "wire", "base"},
    "job": {"wire", "base"},
    "face": {"job", "session", "tracer", "wire", "base", "inject"},
    "inject": {"base"},
}
BASE = {"errors", "log", "processinfo", "program", "_threads", "envconfig", "exits"}
FACE = {"__init__", "__main__", "api", "child", "breakhook", "lazystart"}


def modules():
    """{dotted module name: path} for every .py file of the package."""
    found = {}
    for folder, _dirs, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3].split(os.sep)
                if rel[-1] == "__init__":
                    rel = rel[:-1]
                found[".".join(rel)] = path
    return found


def imports_of(name, path, known):
    """The package modules `name` imports (anywhere in the file), resolved to modules that exist."""
    is_pkg = path.endswith("__init__.py")
    package = name if is_pkg else name.rpartition(".")[0]
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    out = set()
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - (node.level - 1)]
                base = ".".join(parts + ([base] if base else []))
            targets = [base + "." + a.name for a in node.names] + [base]
        for t in targets:
            # the most specific existing module: `from longreach.tracer import hooks` is longreach.tracer.hooks
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t and t != name and t.startswith("longreach"):
                out.add(t)
    return out


def room(module):
    parts = module.split(".")
    if len(parts) == 1:
        return "face"
    if parts[1] in ("wire", "tracer", "session", "inject", "job"):
        return parts[1]
    if parts[1] in BASE:
        return "base"
    if parts[1] in FACE:
        return "face"
    return "unknown"


class Layout(unittest.TestCase):
    def setUp(self):
        self.known = modules()
        self.graph = {m: imports_of(m, p, self.known) for m, p in self.known.items()}

    def test_every_module_belongs_to_a_room(self):
        self.assertEqual([m for m in self.known if room(m) == "unknown"], [])

    def test_imports_run_one_way_between_rooms(self):
        wrong = []
        for module, targets in sorted(self.graph.items()):
            for target in sorted(targets):
                a, b = room(module), room(target)
                if a != b and b not in ALLOWED[a] and target != "longreach":
                    wrong.append("%s (%s) imports %s (%s)" % (module, a, target, b))
        self.assertEqual(wrong, [])

    def test_no_import_circle(self):
        # a package's parent (`longreach`) is implicitly imported by everything; it is not an edge here
        graph = {m: {t for t in ts if t != "longreach"} for m, ts in self.graph.items()}
        state, cycles = {}, []

        def visit(node, stack):
            state[node] = 1
            stack.append(node)
            for nxt in sorted(graph.get(node, ())):
                if state.get(nxt) == 1:
                    cycles.append(stack[stack.index(nxt):] + [nxt])
                elif nxt not in state:
                    visit(nxt, stack)
            stack.pop()
            state[node] = 2

        for node in sorted(graph):
            if node not in state:
                visit(node, [])
        self.assertEqual(cycles, [])

    def test_implementations_do_not_import_the_factory(self):
        for impl in ("longreach.tracer.settrace", "longreach.tracer.monitoring"):
            self.assertNotIn("longreach.tracer.factory", self.graph[impl])

    def test_every_subpackage_says_what_it_holds(self):
        for module, path in self.known.items():
            if path.endswith("__init__.py") and module != "longreach":
                with open(path) as f:
                    doc = ast.get_docstring(ast.parse(f.read()))
                self.assertTrue(doc and "import" in doc, module + " needs a docstring saying what it may import")

    def test_files_stay_under_600_lines(self):
        long_files = []
        for path in self.known.values():
            with open(path) as f:
                n = sum(1 for _ in f)
            if n >= 600:
                long_files.append((path, n))
        self.assertEqual(long_files, [])


if __name__ == "__main__":
    unittest.main()
