"""Inspection handlers of the debug session: stackTrace, scopes, variables, setVariable, evaluate, completions,
exceptionInfo, source, loadedSources, modules. Mixed into DebugSession (core.py holds the dispatch table)."""

import linecache
import os
import sys
import traceback

from longreach.errors import LongreachError
from longreach.session.budget import BudgetExceeded, eval_budget, over_budget as _over_budget
from longreach.session.evaluate import assign_local, completions, evaluate
from longreach.tracer.base import _AGENT_DIR, canon
from longreach.tracer.linetable import current_line
from longreach.wire.framing import Encoded, dumps

__all__ = ["InspectHandlers", "is_user_file", "user_stack"]

_MAX_SOURCE = 16 * 1024 * 1024


def _library_roots():
    """Directories of the standard library and installed packages (cheap: no sysconfig parsing)."""
    roots = set([canon(os.path.dirname(os.__file__)) + os.sep])
    for p in sys.path:
        if p and ("site-packages" in p or "dist-packages" in p):
            roots.add(canon(p) + os.sep)
    return tuple(roots)


_LIB_ROOTS = None
_user_cache = {}


def is_user_file(filename):
    """Code of the program itself: not the standard library, not installed packages, not the agent."""
    global _LIB_ROOTS
    r = _user_cache.get(filename)
    if r is None:
        if _LIB_ROOTS is None:
            _LIB_ROOTS = _library_roots()
        c = canon(filename)
        r = not (c.startswith(_AGENT_DIR) or c.startswith(_LIB_ROOTS) or c.startswith("<frozen"))
        _user_cache[filename] = r
    return r


def _bad(message):
    return LongreachError("LR_BAD_REQUEST", message)


def _int_arg(args, name, default):
    v = args.get(name, default)
    if v is None:
        return default
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise _bad("%s must be a non-negative integer" % name)
    return v


def _is_bootstrap(filename):
    """runpy's frames below a program run with -m (or by the launcher): `<frozen runpy>` or runpy.py itself."""
    if filename == "<frozen runpy>":
        return True
    runpy = sys.modules.get("runpy")
    where = getattr(runpy, "__file__", None)
    return bool(where) and canon(filename) == canon(where)


_agent_files = {}  # co_filename -> True when it is the agent's own code


def _is_agent_file(filename):
    r = _agent_files.get(filename)
    if r is None:
        r = _agent_files[filename] = canon(filename).startswith(_AGENT_DIR)
    return r


def user_stack(frame):
    """The frames from `frame` outwards without the agent's own (the launcher's run_script/main/<module> and any
    agent code in between) and without the runpy bootstrap frames below the program, so the stack ends at the
    program's <module>."""
    frames = []
    agent = _agent_files
    while frame is not None:
        fn = frame.f_code.co_filename
        mine = agent.get(fn)
        if mine is None:
            mine = _is_agent_file(fn)
        if not mine:
            frames.append(frame)
        frame = frame.f_back
    while frames and _is_bootstrap(frames[-1].f_code.co_filename):
        frames.pop()
    return frames


class InspectHandlers(object):
    # ---- frames ----
    def _top_frame(self, ident):
        st = self.coord.stopped.get(ident)
        if st is not None:
            return st.frame
        frame = sys._current_frames().get(ident)
        while frame is not None and _is_agent_file(frame.f_code.co_filename):
            frame = frame.f_back
        return frame

    def _frame_arg(self, args, required=True):
        fid = args.get("frameId")
        if fid is None and not required:
            return None, None
        entry = self._frames.get(fid)
        if entry is None:
            raise _bad("unknown frameId %r (frame ids last until the program resumes; send stackTrace again)"
                       % (fid,))
        return entry

    def _source_of(self, filename):
        """The DAP source of a code object's file, cached until the program resumes (a deep stack repeats files)."""
        cache = self._source_cache
        src = cache.get(filename)
        if src is None:
            src = cache[filename] = self._make_source(filename)
        return src

    def _make_source(self, filename):
        if os.path.isfile(filename):
            path = self.registry.resolver.to_client(filename)
            return {"name": os.path.basename(path.replace("\\", "/")), "path": path}
        ref = self._source_refs.get(filename)
        if ref is None:
            ref = len(self._source_refs) + 1
            self._source_refs[filename] = ref
            self._sources[ref] = filename
        return {"name": filename, "sourceReference": ref}

    def _code_info(self, code):
        """(name, source, subtle, JSON template of a frame of `code` with %d for id and line), cached with the
        sources until the program resumes (the cache's other keys are file names, never code objects)."""
        key = (code,)
        info = self._source_cache.get(key)
        if info is None:
            name = getattr(code, "co_qualname", code.co_name)
            source = self._source_of(code.co_filename)
            subtle = not is_user_file(code.co_filename)
            template = '{"id":%%d,"name":%s,"line":%%d,"column":1,"source":%s%s}' % (
                dumps(name).replace("%", "%%"), dumps(source).replace("%", "%%"),
                ',"presentationHint":"subtle"' if subtle else "")
            info = self._source_cache[key] = (name, source, subtle, template)
        return info

    def on_stack_trace(self, args):
        """Per frame only a dict look-up per code object; the JSON text is made alongside the dicts (a 900-deep
        stack is the size that matters: see wire.Encoded)."""
        ident = self.ident_of(args)
        start = _int_arg(args, "startFrame", 0)
        levels = _int_arg(args, "levels", 0)
        frames = user_stack(self._top_frame(ident))
        total = len(frames)
        page = frames[start:start + levels] if levels else frames[start:]
        out, texts = [], []
        cache, ids = self._source_cache, self._frames
        fid = self._next_frame
        for frame in page:
            code = frame.f_code
            info = cache.get((code,))
            if info is None:
                info = self._code_info(code)
            name, source, subtle, template = info
            line = current_line(frame) or 0
            ids[fid] = (ident, frame)
            item = {"id": fid, "name": name, "line": line, "column": 1, "source": source}
            if subtle:
                item["presentationHint"] = "subtle"
            out.append(item)
            texts.append(template % (fid, line))
            fid += 1
        self._next_frame = fid
        return Encoded({"stackFrames": out, "totalFrames": total},
                       '{"stackFrames":[%s],"totalFrames":%d}' % (",".join(texts), total))

    def on_scopes(self, args):
        _ident, frame = self._frame_arg(args)
        scopes = [{"name": "Locals", "presentationHint": "locals", "expensive": False,
                   "variablesReference": self.refs.add("locals", frame)}]
        if frame.f_globals is not frame.f_locals:
            scopes.append({"name": "Globals", "expensive": False,
                           "variablesReference": self.refs.add("globals", frame)})
        return {"scopes": scopes}

    def _ref_arg(self, args):
        ref = args.get("variablesReference")
        entry = self.refs.get(ref) if isinstance(ref, int) else None
        if entry is None:
            raise _bad("unknown variablesReference %r (references last until the program resumes)" % (ref,))
        return entry

    def on_variables(self, args):
        kind, obj, expr = self._ref_arg(args)
        start = _int_arg(args, "start", 0)
        count = _int_arg(args, "count", 0)
        flt = args.get("filter")
        if kind == "locals":
            return {"variables": self.renderer.mapping(obj.f_locals, start, count)}
        if kind == "globals":
            return {"variables": self.renderer.mapping(obj.f_globals, start, count, skip=("__builtins__",))}
        if kind == "lazy":
            name, lazy = obj
            return {"variables": self._guard(lambda: self.renderer.lazy(name, lazy, expr, eval_budget("repl")))}
        return {"variables": self._guard(lambda: self.renderer.children(obj, expr, start, count, flt))}

    def _guard(self, fn):
        """fn() with the program's faults and overruns turned into errors that say what happened."""
        try:
            return fn()
        except LongreachError:
            raise
        except BudgetExceeded as e:
            raise _over_budget(e)
        except BaseException as e:  # noqa: B902
            raise LongreachError("LR_EVAL_FAILED", "%s: %s" % (type(e).__name__, self._exc_text(e)))

    def on_set_variable(self, args):
        kind, obj, _expr = self._ref_arg(args)
        name, text = args.get("name"), args.get("value")
        if not isinstance(name, str) or not isinstance(text, str):
            raise _bad("setVariable needs string name and value")
        frame = obj if kind in ("locals", "globals") else self._any_stopped_frame()
        value = self._eval_value(frame, text)

        def assign():
            if kind == "locals":
                assign_local(obj, name, value)
            elif kind == "globals":
                obj.f_globals[name] = value
            elif isinstance(obj, list):
                obj[int(name)] = value
            elif isinstance(obj, dict):
                for k in list(obj):
                    if (self.renderer.repr1(k) if not isinstance(k, str) else repr(k)) == name:
                        obj[k] = value
                        break
                else:
                    raise KeyError(name)
            elif isinstance(obj, (tuple, set, frozenset)):
                raise TypeError("%s items cannot be changed" % type(obj).__name__)
            else:
                setattr(obj, name, value)
        try:
            self._run_user(assign, eval_budget("watch"))
        except LongreachError:
            raise
        except BudgetExceeded as e:
            raise _over_budget(e)
        except BaseException as e:  # noqa: B902
            raise LongreachError("LR_EVAL_FAILED", "cannot set %s: %s: %s" % (name, type(e).__name__, e))
        v = self.renderer.make([(name, value, None)])[0]
        return {"value": v["value"], "type": v["type"], "variablesReference": v["variablesReference"]}

    def _any_stopped_frame(self):
        st = self.coord.stopped.get(self.coord.leader)
        return st.frame if st is not None else None

    def _eval_value(self, frame, text, context="watch"):
        try:
            return self._run_user(lambda: evaluate(frame, text, context)[0], eval_budget(context))
        except LongreachError:
            raise
        except BudgetExceeded as e:
            raise _over_budget(e)
        except BaseException as e:  # noqa: B902
            raise LongreachError("LR_EVAL_FAILED", "%s: %s" % (type(e).__name__, self._exc_text(e)))

    def on_evaluate(self, args):
        expression = args.get("expression")
        if not isinstance(expression, str) or not expression.strip():
            raise _bad("evaluate needs an expression")
        context = args.get("context") or "repl"
        _ident, frame = self._frame_arg(args, required=False)
        if frame is None:
            frame = self._any_stopped_frame() if args.get("frameId") is None and context != "repl" else None
        holder = {}

        def run():
            holder["value"], holder["is_expr"] = evaluate(frame, expression, context)
        try:
            self._run_user(run, eval_budget(context))
        except LongreachError:
            raise
        except BudgetExceeded as e:
            raise _over_budget(e)
        except SyntaxError as e:
            raise LongreachError("LR_EVAL_FAILED", "SyntaxError: %s" % (e.msg,))
        except BaseException as e:  # noqa: B902
            raise LongreachError("LR_EVAL_FAILED", "%s: %s" % (type(e).__name__, self._exc_text(e)))
        if not holder.get("is_expr"):
            return {"result": "", "variablesReference": 0}
        value = holder["value"]
        v = self.renderer.make([("", value, expression)])[0]
        body = {"result": v["value"], "type": v["type"], "variablesReference": v["variablesReference"]}
        for k in ("indexedVariables", "namedVariables", "presentationHint"):
            if k in v:
                body[k] = v[k]
        return body

    def on_completions(self, args):
        text = args.get("text")
        column = args.get("column")
        if not isinstance(text, str) or not isinstance(column, int):
            raise _bad("completions needs text and column")
        _ident, frame = self._frame_arg(args, required=False)
        return {"targets": completions(frame, text, column, lambda fn: self._run_user(fn, eval_budget("hover")))}

    def on_exception_info(self, args):
        ident = self.ident_of(args)
        st = self.coord.stopped.get(ident)
        if st is None or st.exc is None:
            raise LongreachError("LR_NOT_STOPPED", "thread %s is not stopped on an exception" % args["threadId"])
        exc = st.exc
        t = type(exc)
        full = t.__name__ if t.__module__ == "builtins" else "%s.%s" % (t.__module__, t.__qualname__)
        try:
            stack = "".join(traceback.format_exception(t, exc, exc.__traceback__))[-20000:]
        except Exception:
            stack = ""
        mode = "always" if "raised" in self.registry.exception_filters else "unhandled"
        return {"exceptionId": full, "description": self._exc_text(exc), "breakMode": mode,
                "details": {"message": self._exc_text(exc), "typeName": t.__name__, "fullTypeName": full,
                            "stackTrace": stack}}

    def _exc_text(self, exc):
        try:
            text = str(exc)
        except Exception:
            text = "<str() of the exception failed>"
        return text if len(text) <= 2000 else text[:2000] + "..."

    # ---- sources and modules ----
    def on_source(self, args):
        ref = args.get("sourceReference") or (args.get("source") or {}).get("sourceReference")
        path = (args.get("source") or {}).get("path")
        if ref:
            name = self._sources.get(ref)
            if name is None:
                raise _bad("unknown sourceReference %r" % (ref,))
        elif isinstance(path, str) and path:
            name, why = self.registry.resolver.to_remote(path)
            if name is None:
                raise _bad("no source for %s: %s" % (path, why))
        else:
            raise _bad("source needs a sourceReference or source.path")
        if os.path.isfile(name):
            try:
                if os.path.getsize(name) > _MAX_SOURCE:
                    raise _bad("%s is larger than 16 MiB" % name)
                with open(name, "rb") as f:
                    text = f.read().decode("utf-8", "replace")
            except OSError as e:
                raise _bad("cannot read %s: %s" % (name, e.strerror))
        else:
            text = "".join(linecache.getlines(name))
            if not text:
                raise _bad("the source of %s is not available in the program" % (name,))
        return {"content": text, "mimeType": "text/x-python"}

    def on_loaded_sources(self, args):
        files = sorted(self.registry.resolver.loaded_files())
        return {"sources": [self._source_of(f) for f in files if os.path.isfile(f)]}

    def on_modules(self, args):
        start = _int_arg(args, "startModule", 0)
        count = _int_arg(args, "moduleCount", 0)
        mods = sorted((n, m) for n, m in list(sys.modules.items()) if m is not None)
        page = mods[start:start + count] if count else mods[start:]
        out = []
        for name, mod in page:
            item = {"id": name, "name": name}
            f = getattr(mod, "__file__", None)
            if isinstance(f, str):
                item["path"] = self.registry.resolver.to_client(canon(f))
            out.append(item)
        return {"modules": out, "totalModules": len(mods)}
