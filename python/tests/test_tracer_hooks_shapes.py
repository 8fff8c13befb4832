"""Hook mode against code of many shapes: every breakpoint stops exactly where, and as often as, it does with global
tracing, and threads drop tracing when the breakpoint function is done.

The mechanisms compared (each test says what each one does, and checks it on every interpreter):
* CPython 3.8-3.11, hook mode: a thread has no trace function until it enters a hooked breakpoint function and
  none after it returns; code that cannot be hooked (generators) makes the tracer fall back to global mode, where
  threads started later trace from their start.
* CPython 3.12+: sys.monitoring, never a trace function.
* PyPy: global mode, every thread started while something is set has the trace function.
The reference run forces global mode on the settrace tracer with a function breakpoint on a name that never runs.
"""

import sys
import threading
import unittest

from longreach.tracer import adopt as tracer_adopt, hooks as tracer_hooks
from longreach.tracer.base import canon
from tests.fixtures import hook_shapes as shapes
from tests.test_tracer import SCENARIOS
from tests.tracer_support import TRACEE, ScriptPolicy, line_of, name_of_line, new_tracer, run_in_thread, tracee

HOOKS = tracer_hooks.available()
MONITORING = sys.implementation.name == "cpython" and sys.version_info >= (3, 12)
ADOPT = HOOKS and tracer_adopt.available()  # threads already running can be given (and lose) a trace function
INLINED_COMPREHENSIONS = sys.implementation.name == "cpython" and sys.version_info >= (3, 12)  # PEP 709
SHAPES = canon(shapes.__file__)
NO_SUCH_FUNCTION = "__longreach_no_such_function__"
_SHAPE_NAMES = {}


def shape_line(name):
    return shapes.marker(name)


def shape_name(lineno):
    if not _SHAPE_NAMES:
        with open(shapes.__file__) as f:
            for i, text in enumerate(f, 1):
                if "# S:" in text:
                    _SHAPE_NAMES[i] = text.rsplit("# S:", 1)[1].strip()
    return _SHAPE_NAMES.get(lineno, lineno)


def is_hooked(fn):
    return fn.__code__.co_consts[-1] is tracer_hooks._hook


class ShapePolicy(ScriptPolicy):
    """ScriptPolicy naming lines of both fixture files by their markers."""

    def stopped(self, frame, reason, exc):
        if canon(frame.f_code.co_filename) == SHAPES:
            where = shape_name(frame.f_lineno)
        else:
            where = name_of_line(frame.f_lineno)
        self.log.append((reason, frame.f_code.co_name, where))
        self.stopped_event.set()
        action = self.actions.pop(0) if self.actions else "continue"
        if action != "continue":
            self.tracer.step(threading.get_ident(), action, frame)


def run_traced(lines, fn, args=(), actions=(), forced_global=False):
    """Runs fn(*args) in a new thread started after `lines` ({file: markers}) were set. Returns (stops, the thread's
    trace function before and after the call)."""
    policy = ShapePolicy(actions)
    tracer = new_tracer(policy)
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
                tracer.clear_steps()  # what a resume does once the step sequence is over
            seen["after"] = sys.gettrace()
        run_in_thread(body)
    finally:
        tracer.uninstall()
    return policy.log, seen["before"], seen["after"]


def comp(outer, inner):
    """The function a comprehension's line stops in: its own code object, or (3.12+) the function it is inlined
    in."""
    return outer if INLINED_COMPREHENSIONS else inner


def call_three_times():
    return [shapes.called_three_times(i) for i in range(3)]


# (name, breakpoint markers, target, args, expected stops, can be hooked)
SHAPE_CASES = [
    ("method", ["method"], lambda: shapes.Shapes().method(1), (), [("method", "method")], True),
    ("classmethod", ["cmethod"], shapes.Shapes.cmethod, (1,), [("cmethod", "cmethod")], True),
    ("staticmethod", ["smethod"], shapes.Shapes.smethod, (1,), [("smethod", "smethod")], True),
    ("functools.wraps wrapper", ["wrapper"], shapes.decorated, (1,), [("wrapper", "wrapper")], True),
    ("the wrapped function", ["decorated"], shapes.decorated, (1,), [("decorated", "decorated")], True),
    ("closure two levels deep", ["level2"], shapes.nest, (1,), [("level2", "level2")], True),
    ("lambda body on its own line", ["lambda"], shapes.use_lambda, (3,), [("<lambda>", "lambda")] * 3, True),
    ("list comprehension", ["listcomp"], shapes.list_comp, (3,),
     [(comp("list_comp", "<listcomp>"), "listcomp")] * 3, True),
    ("dict comprehension", ["dictcomp"], shapes.dict_comp, (3,),
     [(comp("dict_comp", "<dictcomp>"), "dictcomp")] * 3, True),
    ("set comprehension", ["setcomp"], shapes.set_comp, (3,),
     [(comp("set_comp", "<setcomp>"), "setcomp")] * 3, True),
    ("generator function", ["gen"], shapes.use_generator, (3,), [("generator", "gen")] * 3, False),
    ("generator expression", ["genexpr"], shapes.gen_expr, (3,), [("<genexpr>", "genexpr")] * 3, False),
    ("while True as first statement", ["while1"], shapes.while_first, (2,), [("while_first", "while1")] * 3, True),
    ("first line of the function", ["first"], shapes.first_line, (1,), [("first_line", "first")], True),
    ("def line of a function called three times", ["def"], call_three_times, (), [], True),
    ("def line of a nested function, run once", ["innerdef"], shapes.def_in_body, (3,),
     [("def_in_body", "innerdef")], True),
    ("recursion, first line", ["rec"], shapes.recurse, (2,), [("recurse", "rec")] * 3, True),
    ("exception escaping the breakpoint function", ["escape"], shapes.catches_escape, (1,),
     [("escapes", "escape")], True),
]


class Shapes(unittest.TestCase):
    def test_every_shape_stops_as_with_global_tracing(self):
        for name, marks, fn, args, expected, hookable in SHAPE_CASES:
            with self.subTest(name):
                log, before, after = run_traced({SHAPES: marks}, fn, args)
                self.assertEqual(log, [("breakpoint",) + e for e in expected])
                reference, _b, _a = run_traced({SHAPES: marks}, fn, args, forced_global=True)
                self.assertEqual(log, reference, "hook mode stopped differently from global tracing")
                if MONITORING:
                    self.assertIsNone(before)
                    self.assertIsNone(after)
                elif HOOKS and hookable and ADOPT:
                    self.assertIsNone(before, "a thread started in hook mode had a trace function")
                    self.assertIsNone(after, "the thread kept its trace function after the breakpoint function")
                else:
                    # PyPy, code that cannot be hooked (global mode), or no way to reach running threads later:
                    # threads started while something is set trace from their start
                    self.assertIsNotNone(before)
                    self.assertIsNotNone(after)

    def test_hooked_code_objects(self):
        """Which functions get a hook: the ones holding the line; a comprehension's or closure's code is hooked
        inside its maker's constants (so the maker runs a copy too), generators never."""
        policy = ShapePolicy()
        tracer = new_tracer(policy)
        self.addCleanup(tracer.uninstall)
        originals = dict((f.__name__, f.__code__) for f in (shapes.first_line, shapes.dict_comp, shapes.generator,
                                                               shapes.recurse, shapes.called_three_times))
        tracer.set_lines({SHAPES: {shape_line("first"), shape_line("dictcomp"), shape_line("gen")}})
        self.assertEqual(is_hooked(shapes.first_line), HOOKS)
        self.assertFalse(is_hooked(shapes.dict_comp), "dict_comp itself holds no breakpoint line")
        self.assertEqual(shapes.dict_comp.__code__ is not originals["dict_comp"], HOOKS,
                         "dict_comp must run a copy whose nested comprehension code is hooked")
        self.assertFalse(is_hooked(shapes.generator), "a generator cannot be hooked (it resumes past a prologue)")
        self.assertIs(shapes.recurse.__code__, originals["recurse"])
        tracer.uninstall()
        for fn in (shapes.first_line, shapes.dict_comp, shapes.generator):
            self.assertIs(fn.__code__, originals[fn.__name__])


def scenario_cases():
    """test_tracer's scenarios that use line breakpoints only (those run in hook mode on 3.8-3.11)."""
    return [(name, bps, target, actions, expected) for name, bps, funcs, exc, target, actions, expected in SCENARIOS
            if bps and not funcs and not exc and target[0] != "call_method"]


class SteppingFromHookedFunctions(unittest.TestCase):
    def test_test_tracer_scenarios(self):
        for name, bps, target, actions, expected in scenario_cases():
            with self.subTest(name):
                fn = getattr(tracee, target[0])
                log, before, after = run_traced({TRACEE: bps}, fn, target[1:], actions)
                self.assertEqual(log, expected)
                if ADOPT and name != "generator resumes":
                    self.assertIsNone(before)
                    self.assertIsNone(after, "the thread kept tracing after its steps ended")

    # (name, markers, target, args, actions, expected) on hook_shapes and tracee
    MORE = [
        ("step in from a hooked first line", {TRACEE: ["leaf1"]}, tracee.outer, (1,), ["in", "in", "in"],
         [("breakpoint", "leaf", "leaf1"), ("step", "leaf", "leaf2"), ("step", "middle", "mid2"),
          ("step", "middle", "mid3")]),
        ("step out of a hooked first line", {TRACEE: ["leaf1"]}, tracee.outer, (1,), ["out", "out"],
         [("breakpoint", "leaf", "leaf1"), ("step", "middle", "mid2"), ("step", "outer", "out2")]),
        ("step over in a recursive function", {SHAPES: ["rec"]}, shapes.recurse, (1,), ["over", "over"],
         [("breakpoint", "recurse", "rec"), ("step", "recurse", shape_line("rec") + 2),
          ("breakpoint", "recurse", "rec")]),
        ("step in to a closure", {SHAPES: ["first"]}, lambda: (shapes.first_line(1), shapes.nest(1)), (),
         ["over", "over", "in", "in", "in", "in"], None),
    ]

    def test_more_steps_match_global_tracing(self):
        for name, lines, fn, args, actions, expected in self.MORE:
            with self.subTest(name):
                log, _b, after = run_traced(lines, fn, args, actions)
                reference, _b2, _a2 = run_traced(lines, fn, args, actions, forced_global=True)
                if expected is not None:
                    self.assertEqual(log, expected)
                self.assertEqual(log, reference, "a step from a hooked function differed from global tracing")
                if ADOPT:
                    self.assertIsNone(after, "the thread kept tracing after its steps ended")


def wait_for(pred, timeout=10.0):
    """Bounded wait for a condition another thread makes true (no timing is asserted)."""
    evt = threading.Event()
    for _ in range(int(timeout * 100)):
        if pred():
            return True
        evt.wait(0.01)
    return pred()


class WhileAHookedFunctionRuns(unittest.TestCase):
    """A thread inside worker() (hooked: it holds the breakpoint line `worknever`) while the agent changes things."""

    def setUp(self):
        self.policy = ShapePolicy()
        self.tracer = new_tracer(self.policy)
        self.addCleanup(self.tracer.uninstall)
        self.original = shapes.worker.__code__
        self.tracer.set_lines({SHAPES: {shape_line("worknever")}})
        self.evt, self.box, self.seen = threading.Event(), [0], {}

        def body():
            self.seen["before"] = sys.gettrace()
            self.seen["value"] = shapes.worker(self.evt, self.box)
            self.seen["after"] = sys.gettrace()
            shapes.first_line(0)  # one more Python call
            self.seen["after_a_call"] = sys.gettrace()
        self.thread = threading.Thread(target=body)
        self.thread.start()
        self.addCleanup(self.thread.join, 10)
        self.addCleanup(self.evt.set)
        self.assertTrue(wait_for(lambda: self.box[0] > 0), "worker never ran")

    def finish(self):
        self.evt.set()
        self.thread.join(10)
        self.assertFalse(self.thread.is_alive())
        self.assertEqual(self.seen["value"], self.box[0])

    def test_a_breakpoint_moved_into_its_loop_stops_it(self):
        self.tracer.set_lines({SHAPES: {shape_line("workloop")}})
        self.assertTrue(self.policy.stopped_event.wait(10), "the running hooked function never stopped")
        self.tracer.set_lines({SHAPES: {shape_line("worknever")}})
        self.finish()
        self.assertTrue(self.policy.log)
        self.assertEqual(set(self.policy.log), {("breakpoint", "worker", "workloop")})
        if ADOPT:  # hook mode: tracing only while worker() ran
            self.assertIsNone(self.seen["before"])
            self.assertIsNone(self.seen["after"], "the thread kept tracing after the hooked function returned")
        elif MONITORING:
            self.assertIsNone(self.seen["after"])
        else:  # PyPy: global mode, the thread traces from its start
            self.assertIsNotNone(self.seen["before"])

    def test_detach_while_it_runs(self):
        self.tracer.uninstall()
        self.assertIs(shapes.worker.__code__, self.original, "detach left worker() hooked")
        for frame in sys._current_frames().values():
            while frame is not None:
                self.assertIsNone(frame.f_trace, "detach left f_trace on %s" % frame.f_code.co_name)
                frame = frame.f_back
        self.finish()
        self.assertEqual(self.policy.log, [])
        # every mechanism: nothing left on the thread (settrace's global function removes itself at a call)
        self.assertIsNone(self.seen["after_a_call"])
        self.assertIsNone(sys.gettrace())


class ExitThroughAnException(unittest.TestCase):
    def test_the_thread_drops_tracing_when_the_exception_escapes(self):
        policy = ShapePolicy()
        tracer = new_tracer(policy)
        self.addCleanup(tracer.uninstall)
        tracer.set_lines({SHAPES: {shape_line("escape")}})
        seen = {}

        def body():
            try:
                shapes.escapes(4)
            except KeyError as e:
                seen["caught"] = e.args[0]
            seen["after"] = sys.gettrace()
        run_in_thread(body)
        self.assertEqual(seen["caught"], 5)
        self.assertEqual(policy.log, [("breakpoint", "escapes", "escape")])
        if ADOPT or MONITORING:
            self.assertIsNone(seen["after"], "the thread kept tracing after the exception left escapes()")
        else:
            self.assertIsNotNone(seen["after"])  # PyPy: global mode


class Edges(unittest.TestCase):
    """Found by these tests and fixed: see each docstring."""

    def setUp(self):
        self.policy = ShapePolicy()
        self.tracer = new_tracer(self.policy)
        self.addCleanup(self.tracer.uninstall)

    def test_breakpoints_cleared_while_a_hooked_function_runs(self):
        """3.8-3.11 (tracer_adopt available): after set_lines({}) the thread that was inside the hooked function used
        to keep the global trace function for good once that function returned."""
        self.tracer.set_lines({SHAPES: {shape_line("worknever")}})
        evt, box, seen = threading.Event(), [0], {}

        def body():
            shapes.worker(evt, box)
            shapes.first_line(0)
            seen["after"] = sys.gettrace()
        t = threading.Thread(target=body)
        t.start()
        self.assertTrue(wait_for(lambda: box[0] > 0))
        self.tracer.set_lines({})
        evt.set()
        t.join(10)
        if ADOPT or MONITORING:
            self.assertIsNone(seen["after"], "attached with no breakpoints, the thread still traces every call")

    def test_one_line_functions_stop_at_every_call(self):
        """3.13 (sys.monitoring): a breakpoint on a function whose body shares the line of its start (a one-line
        lambda, `def f(v): return v`) used to stop at the first call only."""
        self.tracer.set_lines({SHAPES: {shape_line("lambda1"), shape_line("oneline")}})
        run_in_thread(lambda: (shapes.use_one_line_lambda(3), [shapes.one_line_def(i) for i in range(3)]))
        self.assertEqual(self.policy.log, [("breakpoint",) + e for e in [("use_one_line_lambda", "lambda1")] +
                                           [("<lambda>", "lambda1")] * 3 + [("one_line_def", "oneline")] * 3])

    def test_detach_while_it_runs_strict(self):
        """3.8-3.11, was intermittent (about 1 run in 4-10): after detach, the thread that was in a hooked function
        still had the global trace function after that function returned (detach now takes it from every thread)."""
        failures = 0
        for _ in range(20):
            policy = ShapePolicy()
            tracer = new_tracer(policy)
            tracer.set_lines({SHAPES: {shape_line("worknever")}})
            evt, box, seen = threading.Event(), [0], {}

            def body():
                shapes.worker(evt, box)
                seen["after"] = sys.gettrace()
            t = threading.Thread(target=body)
            t.start()
            self.assertTrue(wait_for(lambda: box[0] > 0))
            tracer.uninstall()
            evt.set()
            t.join(10)
            failures += seen["after"] is not None
        if ADOPT or MONITORING:
            self.assertEqual(failures, 0, "the thread kept the trace function after detach")
        # PyPy (no tracer_adopt): the trace function removes itself at the thread's next call (checked above)


if __name__ == "__main__":
    unittest.main()
