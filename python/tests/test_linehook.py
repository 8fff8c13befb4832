"""linehook: a copy of a function with breakpoints compiled in behaves exactly like the original when no hook fires
(same results, exceptions, traceback lines, line events), fires its hook exactly when the line runs and the
condition is true, reports a condition that raises without the program seeing it, and is refused (with a reason)
whenever its source cannot be trusted.

Checked on every line of every function of the code-shape corpus, on a function long enough for wide jumps, and on
every function of whole stdlib modules (the copies installed and the modules used).
"""

import dis
import difflib
import importlib
import os
import shutil
import sys
import tempfile
import textwrap
import traceback
import types
import unittest

from longreach.tracer import linehook
from tests.fixtures import hook_corpus

NO_RESTART = 0x20 | 0x80 | 0x100 | 0x200


class Hits(object):
    def __init__(self):
        self.calls = []

    def __call__(self, frame, condition, error):
        self.calls.append((frame.f_code.co_name, frame.f_lineno, condition,
                           None if error is None else type(error).__name__))


def swapped(fn, code):
    new = types.FunctionType(code, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    new.__kwdefaults__ = fn.__kwdefaults__
    return new


def outcome(fn, *args):
    try:
        return ("value", fn(*args))
    except Exception as e:
        tb = e.__traceback__
        while tb.tb_next is not None:
            tb = tb.tb_next
        return ("raised", type(e).__name__, str(e), tb.tb_lineno)


def own_lines(code):
    return sorted(set(line for _o, line in dis.findlinestarts(code) if line is not None))


def traced(fn, args):
    """(line events of fn's own frame, how many times each line started) with a trace function from the start."""
    seen = []
    target = fn.__code__

    def local(frame, event, arg):
        if event == "line" and frame.f_code is target:
            seen.append(frame.f_lineno)
        return local

    sys.settrace(lambda frame, event, arg: local if frame.f_code is target else None)
    try:
        outcome(fn, *args)
    finally:
        sys.settrace(None)
    return seen


class HookTarget(unittest.TestCase):
    def setUp(self):
        self.hits = Hits()
        linehook.set_target(self.hits)
        self.addCleanup(linehook.set_target, None)


class Corpus(HookTarget):
    def each_line(self):
        for fn in hook_corpus.CALLABLE:
            for line in own_lines(fn.__code__):
                yield fn, line

    def test_false_conditions_change_nothing(self):
        made = 0
        for fn, line in self.each_line():
            for cond in ("n == -12345" if "n" in fn.__code__.co_varnames else "False", "len([]) > 0"):
                new, why = linehook.copy_with_breakpoints(fn.__code__, {line: cond})
                if new is None:
                    self.assertTrue(why)
                    continue
                made += 1
                copy = swapped(fn, new)
                with self.subTest(fn=fn.__name__, line=line, cond=cond):
                    for arg in (0, 1, 3, 7):
                        self.assertEqual(outcome(copy, arg), outcome(fn, arg))
                    self.assertEqual(traced(copy, (3,)), traced(fn, (3,)))
                    self.assertEqual(own_lines(new), own_lines(fn.__code__))
        self.assertEqual(self.hits.calls, [])
        self.assertGreater(made, 20)

    def test_unconditional_hooks_fire_once_per_run_of_their_line(self):
        made = 0
        for fn, line in self.each_line():
            new, why = linehook.copy_with_breakpoints(fn.__code__, {line: None})
            if new is None:
                continue
            made += 1
            with self.subTest(fn=fn.__name__, line=line):
                del self.hits.calls[:]
                copy = swapped(fn, new)
                self.assertEqual(outcome(copy, 3), outcome(fn, 3))
                runs = traced(fn, (3,)).count(line)
                self.assertEqual(set(self.hits.calls), {(fn.__name__, line, None, None)} if runs else set())
                # once per run of the statement; tracing also reports a `with` line at the block's exit and an
                # inlined comprehension's line at each of its iterations (3.12+)
                if fn not in (hook_corpus.with_block, hook_corpus.closure):
                    self.assertEqual(len(self.hits.calls), runs)
        self.assertGreater(made, 20)

    def test_a_condition_that_raises_reaches_the_hook_not_the_program(self):
        fn = hook_corpus.straight
        line = own_lines(fn.__code__)[-1]
        new, why = linehook.copy_with_breakpoints(fn.__code__, {line: "1 // (x - x)"})
        self.assertIsNotNone(new, why)
        self.assertEqual(swapped(fn, new)(4), fn(4))
        self.assertEqual(self.hits.calls, [("straight", line, "1 // (x - x)", "ZeroDivisionError")])
        self.assertIsNone(sys.exc_info()[1])

    def test_true_condition_sees_locals_and_cells(self):
        fn = hook_corpus.cell_and_free
        line = own_lines(fn.__code__)[-1]
        new, why = linehook.copy_with_breakpoints(fn.__code__, {line: "a[0] == n + 1 and n > 2"})
        self.assertIsNotNone(new, why)
        copy = swapped(fn, new)
        for arg in (1, 3, 5):
            self.assertEqual(copy(arg), fn(arg))
        self.assertEqual([c[2] for c in self.hits.calls], ["a[0] == n + 1 and n > 2"] * 2)

    def test_conditions_that_would_change_the_function_become_plain_hooks(self):
        fn = hook_corpus.straight
        line = own_lines(fn.__code__)[-1]
        for cond in ("(z := 3) > 1", "[v for v in range(x)]", "(lambda: x)()"):
            with self.subTest(cond):
                del self.hits.calls[:]
                new, why = linehook.copy_with_breakpoints(fn.__code__, {line: cond})
                self.assertIsNotNone(new, why)
                self.assertEqual(new.co_varnames, fn.__code__.co_varnames)
                self.assertEqual(swapped(fn, new)(1), fn(1))
                self.assertEqual(self.hits.calls, [("straight", line, None, None)])
        # naming a variable of the enclosing function that `inner` does not use would add a free variable
        inner = [c for c in hook_corpus.closure.__code__.co_consts if isinstance(c, types.CodeType)][0]
        line = own_lines(inner)[-1]
        new, why = linehook.copy_with_breakpoints(inner, {line: "n > 100"})
        self.assertIsNotNone(new, why)
        self.assertEqual(new.co_freevars, inner.co_freevars)
        self.assertNotIn("n > 100", new.co_consts)

    def test_refusals(self):
        cases = [
            (hook_corpus.generator, own_lines(hook_corpus.generator.__code__)[-1], "generator"),
            (hook_corpus.loops, hook_corpus.loops.__code__.co_firstlineno + 2, "loop header"),
            (hook_corpus.lambda_user.__code__.co_consts, None, None),
        ]
        for fn, line, why_part in cases[:2]:
            new, why = linehook.copy_with_breakpoints(fn.__code__, {line: None})
            self.assertIsNone(new)
            self.assertIn(why_part, why)
        lam = [c for c in hook_corpus.lambda_user.__code__.co_consts if isinstance(c, types.CodeType)][0]
        new, why = linehook.copy_with_breakpoints(lam, {lam.co_firstlineno: None})
        self.assertIsNone(new)
        self.assertIn("<lambda>", why)
        ns = {}
        exec(compile("def made(x):\n    return x\n", "<exec'd>", "exec"), ns)
        new, why = linehook.copy_with_breakpoints(ns["made"].__code__, {2: None})
        self.assertIsNone(new)
        self.assertIn("no source", why)


class SourceOnDisk(HookTarget):
    def setUp(self):
        HookTarget.setUp(self)
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir, True)
        sys.path.insert(0, self.dir)
        self.addCleanup(sys.path.remove, self.dir)

    def module(self, name, text):
        path = os.path.join(self.dir, name + ".py")
        with open(path, "w") as f:
            f.write(text)
        self.addCleanup(sys.modules.pop, name, None)
        return importlib.import_module(name), path

    def test_source_changed_after_import_is_refused(self):
        mod, path = self.module("lh_changed", "def f(x):\n    y = x + 1\n    return y\n")
        with open(path, "w") as f:
            f.write("def f(x):\n    y = x + 2\n    return y\n")
        os.utime(path, (1, 1))
        new, why = linehook.copy_with_breakpoints(mod.f.__code__, {2: None})
        self.assertIsNone(new)
        self.assertIn("does not match the running code", why)

    def test_long_function_with_wide_jumps(self):
        mod, _path = self.module("lh_big", hook_corpus.many_branches_source(3000))
        code = mod.big.__code__
        line = own_lines(code)[-1]
        mid = code.co_firstlineno + 1 + 4 * 1500 + 2  # `total += 1500`
        new, why = linehook.copy_with_breakpoints(code, {line: "n == -1", mid: None})
        self.assertIsNotNone(new, why)
        copy = swapped(mod.big, new)
        for n in (0, 5, 1501, 3001):
            self.assertEqual(copy(n), mod.big(n))
        self.assertEqual([c[1] for c in self.hits.calls], [mid, mid])

    def test_future_annotations_and_classes(self):
        mod, _path = self.module("lh_cls", textwrap.dedent("""\
            from __future__ import annotations
            import functools


            def deco(fn):
                @functools.wraps(fn)
                def wrapper(*a):
                    return fn(*a)
                return wrapper


            class K:
                @deco
                def m(self, v: Undefined) -> Undefined:
                    w = v * 2
                    return super().__hash__() and w
            """))
        code = mod.K.m.__wrapped__.__code__
        new, why = linehook.copy_with_breakpoints(code, {15: "v > 1", 16: None})
        self.assertIsNotNone(new, why)
        mod.K.m.__wrapped__.__code__ = new
        self.assertEqual(mod.K().m(3), 6)
        self.assertEqual([c[1:3] for c in self.hits.calls], [(15, "v > 1"), (16, None)])


class Stdlib(HookTarget):
    MODULES = (textwrap, difflib, traceback, dis)

    def functions(self):
        for module in self.MODULES:
            for value in vars(module).values():
                if isinstance(value, types.FunctionType) and value.__module__ == module.__name__:
                    yield value
                elif isinstance(value, type) and value.__module__ == module.__name__:
                    for attr in vars(value).values():
                        if isinstance(attr, types.FunctionType):
                            yield attr

    def copies(self, condition):
        """{function: copy with a breakpoint on every line a breakpoint can be compiled into}."""
        out = {}
        for fn in self.functions():
            code = fn.__code__
            if code.co_flags & NO_RESTART:
                continue
            points = dict.fromkeys(own_lines(code), condition)
            while points:
                new, why = linehook.copy_with_breakpoints(code, points)
                if new is not None:
                    self.assertEqual(own_lines(new), own_lines(code), fn.__qualname__)
                    out[fn] = new
                    break
                self.assertTrue(why.startswith("line "), "%s: %s" % (fn.__qualname__, why))
                del points[int(why.split()[1].rstrip(":"))]  # a line that cannot hold one: the others still can
        return out

    def exercise(self):
        text = "The quick brown fox jumps over the lazy dog. " * 20
        return (textwrap.fill(text, width=33), textwrap.dedent("  a\n   b\n"), textwrap.shorten(text, 40),
                difflib.SequenceMatcher(None, "abcdefghij" * 5, "abXdefgYij" * 5).ratio(),
                list(difflib.unified_diff(["a\n", "b\n", "c\n"], ["a\n", "B\n", "c\n"])),
                difflib.get_close_matches("appel", ["ape", "apple", "peach"]),
                traceback.format_exception_only(ValueError, ValueError("x")),
                [i.opname for i in dis.get_instructions(hook_corpus.straight)])

    def run_with(self, copies):
        saved = dict((fn, fn.__code__) for fn in copies)
        try:
            for fn, new in copies.items():
                fn.__code__ = new
            return self.exercise()
        finally:
            for fn, code in saved.items():
                fn.__code__ = code

    def test_whole_modules_with_false_and_true_breakpoints(self):
        want = self.exercise()
        copies = self.copies("len('') > 0")
        self.assertGreater(len(copies), 40)
        self.assertEqual(self.run_with(copies), want)
        self.assertEqual(self.hits.calls, [])
        self.assertEqual(self.run_with(self.copies(None)), want)
        self.assertGreater(len(self.hits.calls), 100)


if __name__ == "__main__":
    unittest.main()
