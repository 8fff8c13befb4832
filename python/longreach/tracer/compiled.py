"""Compiled breakpoints for both tracers: functions holding line breakpoints run a copy with the breakpoints compiled
in (linehook.py), found and swapped like the entry hooks (hooks.CodeHooks); what cannot be compiled in keeps
today's mechanism, per code object, with the reason in the log (area `dap`).

`CompiledLines(fallback)`: fallback(original, result) gives the code to run for a code object that cannot be
compiled in — the entry hook on CPython 3.8-3.11 (its frames then trace), or `result` itself where the tracer
watches code objects without touching them (sys.monitoring, PyPy's global tracing).

`codes` maps every copy made since install to the lines compiled into it, so the tracers know that those lines need
no tracing in that copy (a frame of an older copy, still running, keeps its own hooks; lines added later that its
copy lacks are traced). A hook that fires for a line whose breakpoint was removed since is ignored by the tracer.
"""

import types

from longreach import log
from longreach.tracer import hooks, linehook, watchdog
from longreach.tracer.base import canon, code_lines

__all__ = ["CompiledLines", "keep_result"]

_log = log.get_logger("dap")
_CodeType = types.CodeType


def keep_result(original, result):
    """Fallback for tracers that need no change to code they watch."""
    return result


class CompiledLines(object):
    def __init__(self, fallback):
        self.codes = {}       # copy -> frozenset of the lines compiled into it
        self.refused = {}     # original code -> why it is traced instead (for the last apply)
        self._fallback = fallback
        self._lines = {}
        self._conditions = {}
        self.hooks = hooks.CodeHooks(canon, self._rewrite)

    def apply(self, lines, conditions):
        """lines: {canon file: frozenset}; conditions: {canon file: {line: condition text}} for the lines whose
        condition is compiled in (the others get a plain hook and the policy evaluates them). False when some code
        could not be handled even by the fallback."""
        self._lines = lines
        self._conditions = conditions or {}
        self.refused = {}

        def interesting(code):
            found = lines.get(canon(code.co_filename))
            return bool(found) and not found.isdisjoint(code_lines(code))
        if not lines:
            self.hooks.restore()
            return True
        return self.hooks.apply(set(lines), interesting)

    def patch_consts(self, code, files):
        return self.hooks.patch_consts(code, files)

    @property
    def found_files(self):
        return self.hooks.found_files

    def restore(self):
        self.hooks.restore()
        self._lines, self._conditions = {}, {}

    def forget(self):
        """At uninstall: every copy is gone from the program's functions."""
        self.restore()
        for code in self.codes:
            watchdog.regions.pop(code, None)
        self.codes.clear()
        self.refused = {}

    def compiled_lines(self, code):
        return self.codes.get(code)

    def _rewrite(self, original, result):
        f = canon(original.co_filename)
        wanted = self._lines.get(f, frozenset()) & code_lines(original)
        conds = self._conditions.get(f, {})
        points = dict((line, conds.get(line)) for line in wanted)
        try:
            new, why = linehook.copy_with_breakpoints(original, points)
        except Exception as e:  # a fault here must only cost the fast path
            new, why = None, "%s: %s" % (type(e).__name__, e)
        if new is not None:
            made, new = new, _swap_nested(new, original, result)
            region = watchdog.regions.pop(made, None)
            if new is not None and region is not None:
                watchdog.regions[new] = region
            if new is not None:
                self.codes[new] = frozenset(points)
                return new
            why = "its nested code could not be matched"
        self.refused[original] = why
        _log.info("breakpoints in %s (%s line %d) are traced, not compiled in: %s", original.co_name,
                  original.co_filename, original.co_firstlineno, why)
        return self._fallback(original, result)


def _swap_nested(new, original, result):
    """`new` (compiled from source) with each nested code object that is the original's own replaced by what
    `result` holds in its place (nested functions' own copies or hooks); code the condition brought stays."""
    if not any(type(c) is _CodeType for c in new.co_consts):
        return new
    mine = [(i, c) for i, c in enumerate(original.co_consts) if type(c) is _CodeType]
    consts = list(new.co_consts)
    used = set()
    for k, c in enumerate(consts):
        if type(c) is not _CodeType:
            continue
        for i, o in mine:
            if i not in used and o.co_name == c.co_name and o.co_firstlineno == c.co_firstlineno \
                    and linehook.same_code(o, c):
                consts[k] = result.co_consts[i]
                used.add(i)
                break
    if len(used) != len(mine):
        return None
    return new.replace(co_consts=tuple(consts))
