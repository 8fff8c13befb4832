"""Breakpoint registry: snapping, validation messages, hit conditions, log messages, conditions."""

import os
import sys
import unittest

from tests.tracer_support import TRACEE, line_of, tracee
from longreach.session.breakpoints import Registry, parse_hit_condition, should_stop
from longreach.session.paths import PathResolver


def frame_with(**values):
    def f():
        return sys._getframe()
    frame = f()
    g = dict(values)
    return type("Frame", (), {"f_globals": g, "f_locals": g})()


def at_line(filename, line):
    """What Registry.at reads of a frame: its code's file name (as spelled there) and its line."""
    code = type("Code", (), {"co_filename": filename})()
    return type("Frame", (), {"f_code": code, "f_lineno": line})()


class HitConditions(unittest.TestCase):
    def test_forms(self):
        cases = [("3", [3]), ("==3", [3]), (">=3", [3, 4, 5]), (">3", [4, 5]), ("<3", [1, 2]),
                 ("<=2", [1, 2]), ("%2", [2, 4])]
        for text, hits in cases:
            with self.subTest(text):
                pred = parse_hit_condition(text)
                self.assertEqual([h for h in range(1, 6) if pred(h)], hits)

    def test_bad(self):
        for text in ("abc", "=3", "%0", ">"):
            with self.subTest(text), self.assertRaises(ValueError) as cm:
                parse_hit_condition(text)
            self.assertIn("hit condition", str(cm.exception))


class RegistryTest(unittest.TestCase):
    def setUp(self):
        self.reg = Registry(PathResolver())

    def test_verified_and_snapped(self):
        blank = line_of("leaf2") + 1  # the empty line after leaf's return, before `def middle`
        bps = self.reg.set_source(tracee.__file__, [{"line": line_of("leaf1")}, {"line": blank}])
        self.assertTrue(bps[0].verified)
        self.assertEqual(bps[0].line, line_of("leaf1"))
        self.assertTrue(bps[1].verified)
        self.assertGreater(bps[1].line, blank)
        self.assertEqual(set(self.reg.lines_by_file()[TRACEE]), {line_of("leaf1"), bps[1].line})

    def test_line_past_the_end(self):
        bp = self.reg.set_source(tracee.__file__, [{"line": 100000}])[0]
        self.assertFalse(bp.verified)
        self.assertIn("has no code", bp.message)

    def test_bad_condition_is_unverified_with_message(self):
        bp = self.reg.set_source(tracee.__file__, [{"line": line_of("leaf1"), "condition": "x ==="}])[0]
        self.assertFalse(bp.verified)
        self.assertIn("not valid Python", bp.message)
        bp = self.reg.set_source(tracee.__file__, [{"line": line_of("leaf1"), "hitCondition": "often"}])[0]
        self.assertFalse(bp.verified)
        self.assertIn("hit condition", bp.message)

    def test_replacing_a_source_removes_old_breakpoints(self):
        self.reg.set_source(tracee.__file__, [{"line": line_of("leaf1")}])
        self.reg.set_source(tracee.__file__, [])
        self.assertEqual(self.reg.lines_by_file(), {})

    def test_unknown_file_waits_then_loads(self):
        bp = self.reg.set_source("C:\\proj\\late_mod.py", [{"line": 1}])[0]
        self.assertFalse(bp.verified)
        self.assertIn("no file named late_mod.py is loaded", bp.message)
        self.assertTrue(self.reg.has_unverified())
        self.assertEqual(self.reg.file_loaded(TRACEE), [])
        self.assertEqual(bp.message.split(";")[0], "no file named late_mod.py is loaded")

    def test_condition_hits_and_log(self):
        bp = self.reg.set_source(tracee.__file__, [{"line": line_of("leaf1"), "condition": "n > 1",
                                                    "hitCondition": ">=2"}])[0]
        logs, errors = [], []
        self.assertFalse(should_stop(bp, frame_with(n=1), logs.append, errors.append))
        self.assertFalse(should_stop(bp, frame_with(n=2), logs.append, errors.append))  # first counted hit
        self.assertTrue(should_stop(bp, frame_with(n=3), logs.append, errors.append))
        lp = self.reg.set_source(tracee.__file__, [{"line": line_of("leaf1"), "logMessage": "n={n} {{x}} {1/0}"}])[0]
        self.assertFalse(should_stop(lp, frame_with(n=7), logs.append, errors.append))
        self.assertEqual(logs, ["n=7 {x} <ZeroDivisionError: division by zero>\n"])

    def test_condition_that_raises_stops_and_reports(self):
        bp = self.reg.set_source(tracee.__file__, [{"line": line_of("leaf1"), "condition": "missing > 1"}])[0]
        errors = []
        self.assertTrue(should_stop(bp, frame_with(), [].append, errors.append))
        self.assertIn("NameError", errors[0])

    def test_function_breakpoints(self):
        out = self.reg.set_functions([{"name": "leaf"}, {"name": ""}, {"name": "Thing.method"}])
        self.assertEqual([o["verified"] for o in out], [True, False, True])
        self.assertEqual(self.reg.function_names(), {"leaf", "Thing.method"})
        self.assertEqual(len(self.reg.functions_at(tracee.leaf.__code__)), 1)

    def test_function_breakpoint_condition_and_hit_count(self):
        out = self.reg.set_functions([{"name": "leaf", "condition": "n > 1", "hitCondition": "2"},
                                      {"name": "middle", "condition": "n >"}])
        self.assertEqual(out[0], {"id": out[0]["id"], "verified": True})
        self.assertFalse(out[1]["verified"])
        self.assertIn("condition is not valid Python", out[1]["message"])
        self.assertEqual(self.reg.function_names(), {"leaf"})
        bp = self.reg.functions_at(tracee.leaf.__code__)[0]
        logs, errors = [], []
        stops = [should_stop(bp, frame_with(n=n), logs.append, errors.append) for n in (1, 2, 3, 4)]
        self.assertEqual(stops, [False, False, True, False])  # n=2 is the first counted hit, n=3 the second
        self.assertEqual((logs, errors), ([], []))

    def test_at_follows_every_change_whatever_the_spelling_of_the_file(self):
        line = line_of("leaf1")
        spelled = os.path.join(os.path.dirname(tracee.__file__), ".", os.path.basename(tracee.__file__))
        frame = at_line(spelled, line)
        self.assertEqual(self.reg.at(frame), ())
        bp = self.reg.set_source(tracee.__file__, [{"line": line, "condition": "n == 3"}])[0]
        self.assertEqual(self.reg.at(frame), (bp,))
        self.assertEqual(self.reg.at(at_line(tracee.__file__, line)), (bp,))
        self.assertEqual(self.reg.at(at_line(spelled, line + 1)), ())
        moved = self.reg.set_source(tracee.__file__, [{"line": line + 1}])[0]
        self.assertEqual(self.reg.at(frame), ())
        self.assertEqual(self.reg.at(at_line(spelled, line + 1)), (moved,))
        self.reg.set_source(tracee.__file__, [])
        self.assertEqual(self.reg.at(at_line(spelled, line + 1)), ())

    def test_exception_filters(self):
        self.reg.set_exception_filters(["raised", "uncaught"])
        with self.assertRaises(ValueError) as cm:
            self.reg.set_exception_filters(["sometimes"])
        self.assertIn("known filters", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
