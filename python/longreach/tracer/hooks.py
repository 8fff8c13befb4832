"""Live functions switched to hooked code, and the hook they call (CPython 3.8-3.11; see codehook.py for why).

`CodeHooks.apply(files, interesting)` finds every live function whose code comes from one of `files` (a walk of
gc.get_objects()) and gives it a copy of its code object in which each code object that `interesting` picks —
itself, or one nested in its constants, like a closure, a lambda or a comprehension made each time it runs — starts
with a call to `_hook`. `restore()` puts every original back. Frames already running keep the code they started
with (the tracer reaches those through f_trace).

Code that starts running later (a module imported after the breakpoints were set, the launcher's script) is caught
by the tracer when its module code starts (the "call" event, before its first line); `patch_consts` then swaps the
code objects among that code's constants (the functions and classes it is about to define) for hooked copies, in
place — a tuple's item slots written through ctypes with the references kept right — since the frame already runs
that code object. (An audit hook on "exec" would see modules earlier, but every audit hook is also called for each
`frame.f_code` read, which doubles the cost of tracing.) A module that is imported again (importlib.reload) or
whose file was known before its code ran is announced by `watch_imports`: a finder placed first on sys.meta_path
while a tracer uses hooks, which finds nothing itself but asks the finders after it which file the import will run,
so the tracer can watch that thread until the module's code starts.

`_hook` is a module-level function, so code that is pickled by value (cloudpickle) refers to it by name. While a
tracer has set `target` = (local trace function, global trace function, owners), the hook gives its caller's frame
the local trace function and, when the thread has no trace function yet, installs the global one and records the
frame in owners[thread id]: the tracer removes the thread's trace function again when that frame returns.
"""

import gc
import sys
import threading
import types
import weakref

from longreach.tracer import adopt, codehook

__all__ = ["CodeHooks", "set_target", "available", "watch_imports", "IN_PLACE"]

_getframe = sys._getframe
_gettrace = sys.gettrace
_settrace = adopt.settrace_self  # sys.settrace, except on CPython 3.8 (see adopt)
_get_ident = threading.get_ident
_target = None
_first_line_from_hook = codehook.FIRST_LINE_FROM_HOOK
_FunctionType = types.FunctionType
IN_PLACE = sys.implementation.name == "cpython"  # patch_consts writes object memory: CPython's layout only
_CodeType = types.CodeType

try:
    from longreach._threads import AGENT_THREAD_IDS
except Exception:  # pragma: no cover - only while the package is half-built
    AGENT_THREAD_IDS = set()


def available():
    return codehook.supported()


def set_target(target):
    global _target
    _target = target


class _ImportWatch(object):
    """A meta path finder that finds nothing: it tells `callback(origin)` which file an import is about to run."""

    def __init__(self, callback):
        self.callback = callback
        self._busy = threading.local()

    def find_spec(self, name, path=None, target=None):
        if getattr(self._busy, "on", False):
            return None
        self._busy.on = True
        try:
            for finder in list(sys.meta_path):
                find = getattr(finder, "find_spec", None)
                if finder is self or find is None:
                    continue
                spec = find(name, path, target)
                if spec is not None:
                    if isinstance(spec.origin, str):
                        self.callback(spec.origin)
                    break
        except Exception:
            pass  # the import itself will meet the same problem and report it
        finally:
            self._busy.on = False
        return None


_watch = [None]


def watch_imports(callback):
    """callback(file) before each import runs a module from a file (None: take the finder away)."""
    old = _watch[0]
    if old is not None:
        try:
            sys.meta_path.remove(old)
        except ValueError:
            pass
        _watch[0] = None
    if callback is not None:
        _watch[0] = _ImportWatch(callback)
        sys.meta_path.insert(0, _watch[0])


def _set_tuple_item(t, i, value):
    """t[i] = value for a tuple nobody has seen yet (a module's constants before it runs), references kept right."""
    import ctypes
    slot = ctypes.c_void_p.from_address(id(t) + tuple.__basicsize__ + i * ctypes.sizeof(ctypes.c_void_p))
    old = t[i]
    if slot.value != id(old):
        raise RuntimeError("unexpected tuple layout")
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(value))
    slot.value = id(value)
    ctypes.pythonapi.Py_DecRef(ctypes.py_object(old))


def _hook():
    t = _target
    if t is None:
        return
    try:
        frame = _getframe(1)
        frame.f_trace = t[0]
        if _gettrace() is None:
            tid = _get_ident()
            if tid not in AGENT_THREAD_IDS:
                if _first_line_from_hook:
                    # 3.8/3.9: tracing starts past the first line's event, so report it here, before this thread
                    # traces (a stop here must not step into the agent's own calls)
                    t[0](frame, "line", None)
                if _gettrace() is None:
                    t[2][tid] = frame
                    _settrace(t[1])
    except Exception:
        pass  # the program's line must run whatever happens here


def _entry_hook(original, result):
    return codehook.hooked(result, _hook)


class CodeHooks(object):
    """rewrite(original, result) -> the code object to run for `original` (`result`: original with its nested code
    objects already rewritten), or None when it cannot be done (the caller must trace that code another way).
    Default: the entry hook."""

    def __init__(self, canon, rewrite=None):
        self._canon = canon
        self._rewrite = rewrite or _entry_hook
        self._originals = {}  # code object we made -> the program's own
        self._touched = weakref.WeakSet()  # functions whose __code__ we set
        self._made = {}       # the program's code object -> what it runs now, for the current `interesting`
        self._interesting = None
        self._ok = True
        self.found_files = set()  # files that had a live function at the last apply()

    def _transform(self, code):
        made = self._made
        done = made.get(code)
        if done is not None:
            return done
        consts = code.co_consts
        new_consts = tuple(self._transform(self._originals.get(c, c)) if type(c) is _CodeType else c
                           for c in consts)
        result = code
        if any(a is not b for a, b in zip(consts, new_consts)):
            result = code.replace(co_consts=new_consts)
        if self._interesting(code):
            hooked = self._rewrite(code, result)
            if hooked is None:
                self._ok = False
            else:
                result = hooked
        if result is not code:
            self._originals[result] = code
        made[code] = result
        return result

    def patch_consts(self, code, files):
        """Before `code` (a module, or anything exec'd) runs: the code objects among its constants from `files`
        become their hooked copies, in place. Returns False when some could not be hooked."""
        if self._interesting is None or self._canon(code.co_filename) not in files:
            return True
        if not IN_PLACE:
            return False
        consts = code.co_consts
        for i, c in enumerate(consts):
            if type(c) is _CodeType:
                new = self._transform(self._originals.get(c, c))
                if new is not c:
                    _set_tuple_item(consts, i, new)
        return self._ok

    def apply(self, files, interesting):
        """Returns False when some code object that `interesting` picks could not be hooked (a generator, or a
        jump that would need a longer argument): the caller must trace that code another way."""
        if not files:
            self.restore()
            return True
        self._made = {}
        self._interesting = interesting
        self._ok = True
        originals = self._originals
        transform = self._transform
        canon = self._canon
        found = self.found_files = set()
        for obj in self._candidates(files):
            if type(obj) is not _FunctionType:
                continue
            code = obj.__code__
            if type(code) is not _CodeType:
                continue  # PyPy: its built-in functions are functions with built-in code
            original = originals.get(code, code)
            name = canon(original.co_filename)
            if name in files:
                found.add(name)
                new = transform(original)
            else:
                new = original
            if new is not code:
                try:
                    obj.__code__ = new
                    self._touched.add(obj)
                except Exception:
                    self._ok = False
        return self._ok

    def _candidates(self, files):
        """Where to look for live functions. CPython: every object the collector tracks (complete: callbacks kept in
        registries, closures, decorated functions). PyPy: gc.get_objects() walks its whole heap (tens of ms even for
        a small program), and its hooks only help threads global tracing cannot reach, so the functions reachable
        from the breakpoint files' modules (and their classes and decorators) and those hooked before suffice."""
        if IN_PLACE:
            return gc.get_objects()
        out = list(self._touched)
        seen = set()

        def visit(obj, depth):
            if id(obj) in seen or depth > 3:
                return
            seen.add(id(obj))
            if type(obj) is _FunctionType:
                out.append(obj)
                visit(getattr(obj, "__wrapped__", None), depth + 1)
            elif isinstance(obj, (staticmethod, classmethod)):
                visit(obj.__func__, depth + 1)
            elif isinstance(obj, property):
                for f in (obj.fget, obj.fset, obj.fdel):
                    visit(f, depth + 1)
            elif isinstance(obj, type):
                for value in list(vars(obj).values()):
                    visit(value, depth + 1)
        for module in list(sys.modules.values()):
            name = getattr(module, "__file__", None)
            if isinstance(name, str) and self._canon(name) in files:
                for value in list(vars(module).values()):
                    visit(value, 0)
        return out

    def restore(self):
        self._interesting = None
        self._made = {}
        if not self._originals:
            return
        originals = self._originals
        for obj in gc.get_objects() if IN_PLACE else list(self._touched):
            if type(obj) is _FunctionType:
                original = originals.get(obj.__code__)
                if original is not None:
                    try:
                        obj.__code__ = original
                    except Exception:
                        pass
        self._originals = {}
        self._touched = weakref.WeakSet()
