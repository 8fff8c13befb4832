"""codehook: a hooked code object behaves exactly like the original, plus one hook() call per run.

Checked on every function of a corpus of shapes (loops that jump back to the first line, try/finally, with, closures
and cells, comprehensions, EXTENDED_ARG jumps) and on the whole of a few stdlib modules: same results, same
exceptions and traceback lines, the same line events when tracing is switched on by the hook itself (how the tracer
uses it), and line starts and exception handlers that only moved by the prologue's length.
"""

import difflib
import dis
import sys
import textwrap
import traceback
import types
import unittest

from longreach.tracer import codehook
from tests.fixtures import hook_corpus

SUPPORTED = (sys.implementation.name == "cpython" and (3, 8) <= sys.version_info < (3, 12)
             or sys.implementation.name == "pypy" and sys.version_info[:2] == (3, 9))


class Counter(object):
    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1


def swapped(fn, code):
    """A copy of `fn` running `code` (same globals, defaults and closure)."""
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


def line_events(fn, args, switch_on=False, hooked_from_start=False):
    """The line numbers that `fn`'s own frame reports, traced from its start, or (switch_on) from the moment the
    hook turns tracing on inside it, the way the settrace tracer does (hooked_from_start: the hooked copy, traced
    from its start, so the hook stays quiet)."""
    seen = []
    target = fn.__code__

    def local(frame, event, arg):
        if event == "line":
            seen.append(frame.f_lineno)
        return local

    def glob(frame, event, arg):
        return local if frame.f_code is target else None

    def hook():
        frame = sys._getframe(1)
        frame.f_trace = local
        sys.settrace(glob)
        if codehook.FIRST_LINE_FROM_HOOK:
            local(frame, "line", None)

    if switch_on or hooked_from_start:
        fn = swapped(fn, codehook.hooked(fn.__code__, hook))
        target = fn.__code__
    if not switch_on:
        sys.settrace(glob)
    try:
        outcome(fn, *args)
    finally:
        sys.settrace(None)
    return seen


def starts(code):
    return list(dis.findlinestarts(code))


class HookedCorpusTest(unittest.TestCase):
    def hooked_fn(self, fn):
        counter = Counter()
        code = codehook.hooked(fn.__code__, counter)
        self.assertIsNotNone(code, fn.__name__)
        return swapped(fn, code), counter

    def test_where_unsupported_nothing_is_hooked(self):
        if SUPPORTED:
            self.assertTrue(codehook.supported())
        else:
            self.assertFalse(codehook.supported())
            self.assertIsNone(codehook.hooked(hook_corpus.straight.__code__, Counter()))

    def test_same_results_and_one_hook_call_per_run(self):
        if not SUPPORTED:
            return self.test_where_unsupported_nothing_is_hooked()
        for fn in hook_corpus.CALLABLE:
            for arg in (0, 1, 3, 7):
                with self.subTest(fn=fn.__name__, arg=arg):
                    new, counter = self.hooked_fn(fn)
                    self.assertEqual(outcome(new, arg), outcome(fn, arg))
                    self.assertEqual(counter.calls, 1)

    def test_exceptions_keep_their_lines(self):
        if not SUPPORTED:
            return self.test_where_unsupported_nothing_is_hooked()
        new, _ = self.hooked_fn(hook_corpus.raises_at_line)
        want = outcome(hook_corpus.raises_at_line, 4)
        self.assertEqual(want[0], "raised")
        self.assertEqual(outcome(new, 4), want)
        try:
            new(1)
        except KeyError:
            text = traceback.format_exc()
        self.assertIn("raise KeyError(x)", text)

    def test_generators_and_coroutines_are_refused(self):
        self.assertIsNone(codehook.hooked(hook_corpus.generator.__code__, Counter()))

        async def coro():
            return 1
        self.assertIsNone(codehook.hooked(coro.__code__, Counter()))

    def test_line_events_switched_on_by_the_hook_match_a_traced_original(self):
        if not SUPPORTED:
            return self.test_where_unsupported_nothing_is_hooked()
        for fn in hook_corpus.CALLABLE + [hook_corpus.raises_at_line]:
            for arg in (0, 3):
                with self.subTest(fn=fn.__name__, arg=arg):
                    want = line_events(fn, (arg,))
                    self.assertTrue(want)
                    self.assertEqual(line_events(fn, (arg,), switch_on=True), want)
                    self.assertEqual(line_events(fn, (arg,), hooked_from_start=True), want)

    def test_long_functions_with_extended_jump_arguments(self):
        if not SUPPORTED:
            return self.test_where_unsupported_nothing_is_hooked()
        hooked_any = 0
        for count in (20, 40, 41, 42, 43, 44, 60, 3000):
            ns = {}
            exec(compile(hook_corpus.many_branches_source(count), "<big%d>" % count, "exec"), ns)
            big = ns["big"]
            counter = Counter()
            code = codehook.hooked(big.__code__, counter)
            if code is None:
                continue  # a jump whose argument would need one more byte: refused, the tracer falls back
            hooked_any += 1
            new = swapped(big, code)
            for n in (0, 5, count // 2, count + 1):
                self.assertEqual(new(n), big(n))
            want = line_events(big, (count // 2,))
            self.assertEqual(line_events(big, (count // 2,), switch_on=True), want)
            self.assertEqual(line_events(big, (count // 2,), hooked_from_start=True), want)
        self.assertGreaterEqual(hooked_any, 5)


class HookedStdlibTest(unittest.TestCase):
    """Every function of a few stdlib modules, hooked: layout checks on all, behaviour checks on some."""

    MODULES = (textwrap, difflib, traceback, dis)

    def functions(self):
        for module in self.MODULES:
            for value in vars(module).values():
                if isinstance(value, types.FunctionType):
                    yield value
                elif isinstance(value, type):
                    for attr in vars(value).values():
                        if isinstance(attr, types.FunctionType):
                            yield attr

    def test_line_starts_only_move_by_the_prologue(self):
        if not SUPPORTED:
            return
        checked = 0
        for fn in self.functions():
            code = fn.__code__
            new = codehook.hooked(code, Counter())
            if new is None:
                self.assertTrue(code.co_flags & (0x20 | 0x80 | 0x100 | 0x200) or _needs_wider_jump(code),
                                fn.__qualname__)
                continue
            checked += 1
            moved = len(new.co_code) - len(code.co_code)
            first = 0 if sys.version_info < (3, 11) else _resume_end(code)
            if sys.version_info < (3, 10):  # the first line's start stays at 0 and takes in the prologue
                want = [(off + moved if off > 0 else 0, line) for off, line in starts(code)]
            else:
                want = [(off + moved if off >= first else off, line) for off, line in starts(code)]
            got = starts(new)
            self.assertEqual(got, want, fn.__qualname__)
            if sys.version_info >= (3, 11):
                old_t = dis._parse_exception_table(code)
                new_t = dis._parse_exception_table(new)
                shift = lambda v: v + moved if v >= first else v  # noqa: E731
                self.assertEqual([(shift(e.start), shift(e.end), shift(e.target), e.depth, e.lasti)
                                  for e in old_t],
                                 [(e.start, e.end, e.target, e.depth, e.lasti) for e in new_t], fn.__qualname__)
        self.assertGreater(checked, 50)

    def test_hooked_stdlib_still_works(self):
        if not SUPPORTED:
            return
        counter = Counter()
        saved = []
        try:
            for fn in self.functions():
                new = codehook.hooked(fn.__code__, counter)
                if new is not None and fn.__module__ in ("textwrap", "difflib"):
                    saved.append((fn, fn.__code__))
                    fn.__code__ = new
            text = "The quick brown fox jumps over the lazy dog. " * 20
            wrapped = textwrap.fill(text, width=33)
            ratio = difflib.SequenceMatcher(None, "abcdefghij" * 5, "abXdefgYij" * 5).ratio()
            diff = list(difflib.unified_diff(["a\n", "b\n", "c\n"], ["a\n", "B\n", "c\n"]))
        finally:
            for fn, code in saved:
                fn.__code__ = code
        self.assertGreater(counter.calls, 10)
        self.assertEqual(wrapped, textwrap.fill(text, width=33))
        self.assertEqual(ratio, difflib.SequenceMatcher(None, "abcdefghij" * 5, "abXdefgYij" * 5).ratio())
        self.assertEqual(diff, list(difflib.unified_diff(["a\n", "b\n", "c\n"], ["a\n", "B\n", "c\n"])))


def _needs_wider_jump(code):
    """True when some absolute jump's argument, moved past a prologue, would need one more byte."""
    most = 24 if sys.version_info < (3, 10) else 12  # the prologue with EXTENDED_ARGs, at most

    def width(v):
        return max(1, (v.bit_length() + 7) // 8)
    return any(ins.opcode in dis.hasjabs and width(ins.arg) != width(ins.arg + most)
               for ins in dis.get_instructions(code))


def _resume_end(code):
    for ins in dis.get_instructions(code):
        if ins.opname == "RESUME":
            return ins.offset + 2
    raise AssertionError("no RESUME")


if __name__ == "__main__":
    unittest.main()
