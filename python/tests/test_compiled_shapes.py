"""Compiled breakpoints (tracer/compiled.py, linehook.py) against code of many shapes: every breakpoint stops exactly
where, and as often as, it does with global tracing, steps from a compiled stop go where they go from a traced one,
and the functions that could be compiled in run with no trace function at all.

Same cases as test_tracer_hooks_shapes, with the tracer made as the session makes it (compile_lines=True).
"""

import sys
import threading
import unittest

from longreach.tracer import linehook
from longreach.tracer.factory import make_tracer
from tests.fixtures import hook_shapes as shapes
from tests.fixtures import tracee
from tests.test_tracer_hooks_shapes import (SHAPE_CASES, SHAPES, NO_SUCH_FUNCTION, ShapePolicy, scenario_cases,
                                            shape_line)
from tests.tracer_support import TRACEE, line_of

def is_compiled(fn):
    return linehook.__name__ in fn.__code__.co_consts


def run_compiled(lines, fn, args=(), actions=(), forced_global=False):
    policy = ShapePolicy(actions)
    tracer = make_tracer(policy, compile_lines=True)
    policy.tracer = tracer
    tracer.install()
    seen = {}
    try:
        spec = {}
        for path, marks in lines.items():
            find = shape_line if path == SHAPES else line_of
            spec[path] = set(find(m) for m in marks)
        tracer.set_lines(spec)
        if forced_global:
            tracer.set_functions([NO_SUCH_FUNCTION])

        def body():
            seen["before"] = sys.gettrace()
            fn(*args)
            if actions:
                tracer.clear_steps()
            seen["after"] = sys.gettrace()
        t = threading.Thread(target=body)
        t.start()
        t.join(20)
        assert not t.is_alive(), "target thread did not finish"
    finally:
        tracer.uninstall()
    return policy.log, seen.get("before"), seen.get("after")


class CompiledShapes(unittest.TestCase):
    def test_every_shape_stops_as_with_global_tracing(self):
        for name, marks, fn, args, expected, _hookable in SHAPE_CASES:
            with self.subTest(name):
                log, before, after = run_compiled({SHAPES: marks}, fn, args)
                self.assertEqual(log, [("breakpoint",) + e for e in expected])
                reference, _b, _a = run_compiled({SHAPES: marks}, fn, args, forced_global=True)
                self.assertEqual(log, reference)

    def test_which_functions_run_compiled_copies(self):
        policy = ShapePolicy()
        tracer = make_tracer(policy, compile_lines=True)
        policy.tracer = tracer
        tracer.install()
        self.addCleanup(tracer.uninstall)
        originals = dict((f, f.__code__) for f in (shapes.Shapes.method, shapes.decorated.__wrapped__,
                                                  shapes.first_line, shapes.recurse, shapes.generator))
        tracer.set_lines({SHAPES: set(shape_line(m) for m in ("method", "decorated", "first", "rec", "gen"))})
        for fn in (shapes.Shapes.method, shapes.decorated.__wrapped__, shapes.first_line, shapes.recurse):
            self.assertTrue(is_compiled(fn), fn.__name__)
        self.assertFalse(is_compiled(shapes.generator), "a generator keeps today's mechanism")
        reasons = set(tracer.compiled_refusals().values())
        self.assertIn("a generator or coroutine resumes in the code it started with", reasons)
        tracer.uninstall()
        for fn, code in originals.items():
            self.assertIs(fn.__code__, code)

    def test_test_tracer_scenarios(self):
        for name, bps, target, actions, expected in scenario_cases():
            with self.subTest(name):
                fn = getattr(tracee, target[0])
                log, _before, _after = run_compiled({TRACEE: bps}, fn, target[1:], actions)
                self.assertEqual(log, expected)


if __name__ == "__main__":
    unittest.main()
