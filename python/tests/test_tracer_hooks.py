"""Hook mode of the settrace tracer (CPython 3.8-3.11): breakpoint functions carry an entry hook, threads trace only
while inside them, code loaded or made later gets hooked too, and detach gives every function its own code back.

Each test states what the other mechanisms do instead (sys.monitoring on 3.12+: no trace function at all; PyPy: a
global trace function on every thread), so every assertion holds, and is checked, on every interpreter.
"""

import importlib
import os
import shutil
import sys
import tempfile
import threading
import unittest

from longreach.tracer import hooks as tracer_hooks
from longreach.tracer.base import canon
from tests.fixtures import tracee
from tests.tracer_support import TRACEE, ScriptPolicy, line_of, new_tracer, run_in_thread

HOOKS = tracer_hooks.available()
HOOK_MODE = HOOKS and tracer_hooks.IN_PLACE  # PyPy 3.9 hooks functions but stays in global mode
MONITORING = sys.implementation.name == "cpython" and sys.version_info >= (3, 12)


def is_hooked(fn):
    return fn.__code__.co_consts[-1] is tracer_hooks._hook


LATE_MODULE = """\
import time


def work(v):
    return v + 1  # L:work


def factory(evt, out):
    evt.wait(10)

    def inner(v):
        return v * 2  # L:inner
    out.append(inner(21))
"""


def late_line(name):
    for i, text in enumerate(LATE_MODULE.splitlines(), 1):
        if text.rstrip().endswith("# L:" + name):
            return i
    raise KeyError(name)


class HookMode(unittest.TestCase):
    def setUp(self):
        self.policy = ScriptPolicy()
        self.tracer = new_tracer(self.policy)
        self.addCleanup(self.tracer.uninstall)

    def test_threads_trace_only_inside_breakpoint_functions(self):
        self.tracer.set_lines({TRACEE: {line_of("leaf1")}})
        seen = {}

        def body():
            seen["before"] = sys.gettrace()
            tracee.outer(1)
            seen["after"] = sys.gettrace()
        run_in_thread(body)
        self.assertEqual(self.policy.log, [("breakpoint", "leaf", "leaf1")])
        if HOOK_MODE:
            self.assertIsNone(seen["before"])
            self.assertIsNone(seen["after"], "the thread kept its trace function after leaf() returned")
        elif MONITORING:
            self.assertIsNone(seen["before"])
            self.assertIsNone(seen["after"])
        else:
            self.assertIsNotNone(seen["before"])

    def test_the_main_thread_stays_untraced_until_a_breakpoint_function_runs(self):
        if threading.current_thread() is not threading.main_thread():
            self.fail("unittest runs tests on the main thread")
        self.tracer.set_lines({TRACEE: {line_of("never")}})
        self.assertEqual(tracee.outer(2), 6)
        if HOOK_MODE or MONITORING:
            self.assertIsNone(sys.gettrace())
        self.assertEqual(self.policy.log, [])

    def test_detach_gives_functions_their_own_code_back(self):
        original = tracee.leaf.__code__
        self.tracer.set_lines({TRACEE: {line_of("leaf1")}})
        self.assertEqual(is_hooked(tracee.leaf), HOOKS)
        self.assertFalse(is_hooked(tracee.middle), "a function without a breakpoint line was hooked")
        self.tracer.set_lines({TRACEE: {line_of("mid1")}})
        self.assertEqual(is_hooked(tracee.middle), HOOKS)
        self.assertIs(tracee.leaf.__code__, original, "leaf kept a hook after its breakpoint went away")
        self.tracer.uninstall()
        self.assertFalse(is_hooked(tracee.middle))
        self.assertIs(tracee.leaf.__code__, original)


class CodeThatComesLater(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lr-hooks-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.name = "late_%d" % id(self)
        self.path = os.path.join(self.dir, self.name + ".py")
        with open(self.path, "w") as f:
            f.write(LATE_MODULE)
        sys.path.insert(0, self.dir)
        self.addCleanup(sys.path.remove, self.dir)
        self.addCleanup(sys.modules.pop, self.name, None)
        self.policy = ScriptPolicy()
        self.tracer = new_tracer(self.policy)
        self.addCleanup(self.tracer.uninstall)

    def test_a_module_imported_after_the_breakpoint_is_set(self):
        self.tracer.set_lines({canon(self.path): {late_line("work")}})

        def body():
            module = importlib.import_module(self.name)
            return module, module.work(1)
        module, value = run_in_thread(body)
        self.assertEqual(value, 2)
        self.assertEqual([entry[:2] for entry in self.policy.log], [("breakpoint", "work")])
        self.assertEqual(is_hooked(module.work), HOOK_MODE, "the module's functions were not hooked as it started")

    def test_a_module_reloaded_after_the_breakpoint_is_set(self):
        module = importlib.import_module(self.name)
        self.tracer.set_lines({canon(self.path): {late_line("work")}})

        def body():
            again = importlib.reload(module)
            seen = sys.gettrace()
            return again, again.work(1), seen
        again, value, seen = run_in_thread(body)
        self.assertEqual(value, 2)
        self.assertEqual([entry[:2] for entry in self.policy.log], [("breakpoint", "work")])
        self.assertEqual(is_hooked(again.work), HOOK_MODE, "the reloaded module's functions were not hooked")
        if HOOK_MODE:
            self.assertIsNone(seen, "the thread kept tracing after the reloaded module's code ended")

    def test_a_closure_made_by_a_function_already_running(self):
        module = importlib.import_module(self.name)
        self.tracer.set_lines({TRACEE: {line_of("never")}})  # installed before the thread starts (PyPy needs it)
        evt, out = threading.Event(), []
        t = threading.Thread(target=module.factory, args=(evt, out))
        t.start()
        try:
            self.tracer.set_lines({canon(self.path): {late_line("inner")}})
        finally:
            evt.set()
            t.join(10)
        self.assertEqual(out, [42])
        self.assertEqual([entry[:2] for entry in self.policy.log], [("breakpoint", "inner")])


if __name__ == "__main__":
    unittest.main()
