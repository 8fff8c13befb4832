"""What a child of the job needs to find its gateway, and how a process describes itself (labels, helpers).

The parameters travel in one environment variable, LONGREACH_JOB (JSON: the gateway's Unix socket, the job token,
the root's pid, output redirection); never on a command line. A PYTHONPATH entry (a directory the gateway makes,
holding one sitecustomize.py) makes every Python child of sys.executable - a script, -m, -c, multiprocessing's spawn
and forkserver bootstraps, torchrun's ranks - load the member before any user code; the file chains to the
sitecustomize it hides, so the interpreter's own (Debian has one) still runs.
"""

import json
import os
import sys

__all__ = ["ENV", "HOLD_ENV", "IMAGE_ENV", "encode", "decode", "attached_flag", "awake_flag", "write_bootdir",
           "mark_image", "label", "helper_kind"]

ENV = "LONGREACH_JOB"
IMAGE_ENV = "LONGREACH_JOB_PID"  # the pid of the job's process that last started a program (see mark_image)
HOLD_ENV = "LONGREACH_JOB_HOLD"   # seconds a new process waits for a job session's breakpoints (default 5)
VERSION = 1
DEFAULT_HOLD = 5.0

_SITECUSTOMIZE = '''\
# Written by the Longreach debugger for the processes of one debugged job; removed when the job's first process
# exits. It loads the job's member before the program runs, then the sitecustomize module this one hides.
import os as _os
import sys as _sys


def _longreach_boot():
    here = _os.path.dirname(_os.path.abspath(__file__))
    added = False
    try:
        if _os.environ.get("LONGREACH_JOB") and _sys.version_info >= (3, 8):
            try:
                import longreach  # noqa: F401  (already importable: use that copy)
            except ImportError:
                _sys.path.insert(0, %(lib)r)
                added = True
            from longreach import api
            api._join_job()
    except Exception:
        pass
    finally:
        if added:
            try:
                _sys.path.remove(%(lib)r)
            except ValueError:
                pass
    # the sitecustomize this file hides, if any
    saved = list(_sys.path)
    me = _sys.modules.pop("sitecustomize", None)
    try:
        _sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != here]
        import sitecustomize  # noqa: F401
    except ImportError:
        pass
    finally:
        _sys.path[:] = [p for p in saved if _os.path.abspath(p or ".") != here]
        if "sitecustomize" not in _sys.modules and me is not None:
            _sys.modules["sitecustomize"] = me  # the import system expects to find the module it is running


_longreach_boot()
del _longreach_boot
'''


def encode(socket_path, token, root_pid, redirect_output, hold=DEFAULT_HOLD, signal=False):
    """`signal`: the root wakes its waiting processes with the wake signal (job/wakeup.py), so a new interpreter may
    take it instead of starting a thread that looks for the awake flag."""
    job = {"v": VERSION, "socket": socket_path, "token": token, "root": root_pid, "redirect": bool(redirect_output),
           "hold": hold}
    if signal:
        job["signal"] = True
    return json.dumps(job, separators=(",", ":"))


def hold_seconds(environ=None):
    """LONGREACH_JOB_HOLD in the root's environment: a number of seconds from 0 to 60 (else the default)."""
    text = (os.environ if environ is None else environ).get(HOLD_ENV, "")
    try:
        value = float(text)
    except ValueError:
        return DEFAULT_HOLD
    return value if 0 <= value <= 60 else DEFAULT_HOLD


def attached_flag(config):
    """A file that exists while a client is attached to the whole job: a new process then waits (config["hold"]
    seconds at most) until the job session has configured it, so it cannot run past a breakpoint. Checking a file
    costs a process nothing when nobody is attached."""
    return os.path.join(os.path.dirname(config["socket"]), "attached")


def awake_flag(config):
    """A file that exists once a client has asked for the job (gateway.wake()): a child that has not joined yet does
    then (child.py)."""
    return os.path.join(os.path.dirname(config["socket"]), "awake")


def decode(text):
    """The config dict, or None when `text` is missing or malformed (a stale or foreign variable is ignored)."""
    if not text:
        return None
    try:
        config = json.loads(text)
    except ValueError:
        return None
    if not isinstance(config, dict) or config.get("v") != VERSION:
        return None
    if not isinstance(config.get("socket"), str) or not isinstance(config.get("token"), str):
        return None
    if not isinstance(config.get("root"), int):
        return None
    hold = config.get("hold", DEFAULT_HOLD)
    if not isinstance(hold, (int, float)) or isinstance(hold, bool) or not 0 <= hold <= 60:
        config["hold"] = DEFAULT_HOLD
    return config


def write_bootdir(folder, lib):
    """Make `folder` (inside the gateway's private directory) hold the bootstrap sitecustomize.py; `lib` is the
    directory that holds the longreach package."""
    os.mkdir(folder, 0o700)
    with open(os.path.join(folder, "sitecustomize.py"), "w") as f:
        f.write(_SITECUSTOMIZE % {"lib": lib})
    return folder


def _command_line():
    argv = getattr(sys, "orig_argv", None)
    if argv:
        return list(argv)
    try:
        with open("/proc/self/cmdline", "rb") as f:
            return [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return list(getattr(sys, "argv", []))


def helper_kind(argv=None):
    """'tracker' for multiprocessing's resource tracker (never user code: not followed at all), 'forkserver' for
    its fork server (not listed, but the processes it forks are), None for anything else."""
    text = " ".join(_command_line() if argv is None else argv)
    if "multiprocessing.resource_tracker" in text or "multiprocessing.semaphore_tracker" in text:
        return "tracker"
    if "multiprocessing.forkserver" in text:
        return "forkserver"
    return None


_image = {"execd": False}


def mark_image(environ=None, forked=False):
    """In a process of the job, before its program (a new interpreter, or a fork child: `forked`): whether this pid
    ran another program of the job before (os.exec*: the variable then names this very pid; a child inherits its
    parent's), which label() says when nothing else does; then name this pid for a program it may exec next. A
    process that execs before it joined (nobody had asked for the job yet) is known for what it is only this way.
    The variable is set in the process's environment block only (os.putenv): exec and child processes get it,
    os.environ does not show it (and a fork child, surely not an exec, spends nothing more)."""
    pid = os.getpid()
    if forked:
        _image["execd"] = False
    else:
        _image["execd"] = (os.environ if environ is None else environ).get(IMAGE_ENV) == str(pid)
    if environ is None:
        os.putenv(IMAGE_ENV, str(pid))
    else:
        environ[IMAGE_ENV] = str(pid)


def final(text):
    """True for a label that cannot change any more (torch's worker info, a rank); a multiprocessing name or no label
    may still become one of those (a DataLoader worker is a multiprocessing process until torch has set it up)."""
    return text.startswith(("DataLoader worker ", "rank ", "local rank "))


def rank_label(environ):
    """`rank R/W` (RANK, WORLD_SIZE; with ` (local rank L)` when LOCAL_RANK differs) or `local rank L`, as a
    distributed launcher (torchrun) sets them in each process it starts; '' without them. Also for a listing's
    process that has not joined (its /proc/PID/environ)."""
    rank, world = environ.get("RANK"), environ.get("WORLD_SIZE")
    if rank is not None and rank.isdigit():
        text = "rank %s/%s" % (rank, world) if world and world.isdigit() else "rank %s" % rank
        local = environ.get("LOCAL_RANK")
        if local is not None and local.isdigit() and local != rank:
            text += " (local rank %s)" % local
        return text
    local = environ.get("LOCAL_RANK")
    if local is not None and local.isdigit():
        return "local rank %s" % local
    return ""


def label(environ=None, modules=None):
    """What this process is, from what it already has: torch's worker info, RANK / WORLD_SIZE, LOCAL_RANK,
    multiprocessing's process name. Only looks at modules already imported; '' when nothing says."""
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    worker = modules.get("torch.utils.data._utils.worker")
    info = getattr(worker, "_worker_info", None) if worker is not None else None
    if info is not None:
        try:
            return "DataLoader worker %d" % int(getattr(info, "id"))
        except Exception:
            pass
    ranked = rank_label(environ)
    if ranked:
        return ranked
    mp = modules.get("multiprocessing.process")
    if mp is not None:
        try:
            current = mp.current_process()
            if current.name != "MainProcess":
                return str(current.name)
        except Exception:
            pass
    return "exec'd" if _image["execd"] else ""
