"""Client path -> file in this process.

Order: loaded code first - the exact path, then `pathMappings` (localRoot/remoteRoot), then the heuristic of ptvsd:
a loaded file with the same name whose package path (the directories above it that hold an __init__.py) is also the
tail of the client path; only then files on disk that nothing has loaded yet (the exact path, then the mappings).
A file the program runs beats a file of the same name that merely exists (two checkouts on one machine, bind
mounts), and when several files matched, the breakpoint's message says which one was chosen. Client paths may be
Windows paths (C:\\proj\\app.py): they are split on both separators and compared case-insensitively.

Loaded files come from sys.modules (__file__) and from the tracer's record of code that ran; modules that load
later are matched one file at a time with `match_new_file` when the tracer reports their code.
"""

import difflib
import os
import re
import sys

from longreach.tracer.base import canon

__all__ = ["PathResolver", "split_client_path"]

_WINDOWS = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")


def split_client_path(path):
    """(components, is_windows) of a client path, whatever the client's OS."""
    windows = bool(_WINDOWS.match(path)) or ("\\" in path and "/" not in path)
    parts = [p for p in re.split(r"[\\/]+", path) if p]
    return parts, windows


def package_tail(remote_file):
    """['pkg', 'sub', 'mod.py'] for /x/pkg/sub/mod.py when pkg/ and sub/ are packages."""
    tail = [os.path.basename(remote_file)]
    d = os.path.dirname(remote_file)
    while d and os.path.isfile(os.path.join(d, "__init__.py")):
        tail.insert(0, os.path.basename(d))
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    return tail


def _same(a, b, fold):
    return a.lower() == b.lower() if fold else a == b


class PathResolver(object):
    def __init__(self, mappings=(), extra_files=None):
        """mappings: [{"localRoot": ..., "remoteRoot": ...}]; extra_files: callable -> iterable of canon files
        seen by the tracer."""
        self.mappings = []
        for m in mappings or ():
            if not isinstance(m, dict) or not isinstance(m.get("localRoot"), str) \
                    or not isinstance(m.get("remoteRoot"), str):
                raise ValueError("each pathMappings entry needs string localRoot and remoteRoot")
            self.mappings.append((m["localRoot"], m["remoteRoot"]))
        self.extra_files = extra_files
        self._tail_cache = {}

    # ---- what is loaded ----
    def loaded_files(self):
        files = set()
        for mod in list(sys.modules.values()):
            f = getattr(mod, "__file__", None)
            if isinstance(f, str) and f.endswith((".py", ".pyw")):
                files.add(canon(f))
        if self.extra_files is not None:
            files.update(f for f in self.extra_files() if not f.startswith("<"))
        return files

    # ---- client -> remote ----
    def to_remote(self, client_path):
        """(canon remote file, None) or (None, reason why not)."""
        remote, why, _note = self.resolve(client_path)
        return remote, why

    def resolve(self, client_path):
        """(canon remote file, None, note) or (None, reason why not, None); `note` names the file chosen when
        several matched, else None."""
        parts, windows = split_client_path(client_path)
        if not parts:
            return None, "empty source path", None
        loaded = self.loaded_files()
        named = [] if windows else [canon(client_path)]
        for local, remote in self.mappings:
            mapped = self._apply_mapping(client_path, local, remote)
            if mapped is not None and canon(mapped) not in named:
                named.append(canon(mapped))
        guess = self._heuristic(parts, windows, loaded)
        in_code = [f for f in named if f in loaded] + ([guess] if guess is not None else [])
        on_disk = [f for f in named if f not in loaded and os.path.isfile(f)]
        matches = []
        for f in in_code + on_disk:
            if f not in matches:
                matches.append(f)
        if not matches:
            return None, self._why_not(parts[-1], loaded), None
        chosen = matches[0]
        note = None
        if len(matches) > 1:
            def shown(f):
                return f if f in loaded else f + " (not loaded)"
            note = "using %s; also matched %s" % (shown(chosen), ", ".join(shown(f) for f in matches[1:4]))
        return chosen, None, note

    def match_new_file(self, client_path, remote_file):
        """True when a newly loaded remote file is what `client_path` names (mapping or heuristic)."""
        parts, windows = split_client_path(client_path)
        if not parts:
            return False
        if not windows and canon(client_path) == remote_file:
            return True
        for local, remote in self.mappings:
            mapped = self._apply_mapping(client_path, local, remote)
            if mapped is not None and canon(mapped) == remote_file:
                return True
        return self._heuristic(parts, windows, [remote_file]) == remote_file

    def _apply_mapping(self, client_path, local, remote):
        cparts, cwin = split_client_path(client_path)
        lparts, lwin = split_client_path(local)
        fold = cwin or lwin
        if len(cparts) < len(lparts) or not all(_same(a, b, fold) for a, b in zip(cparts, lparts)):
            return None
        rest = cparts[len(lparts):]
        return os.path.join(remote, *rest) if rest else remote

    def _heuristic(self, parts, windows, candidates):
        name = parts[-1]
        best, best_score = None, -1
        for f in candidates:
            if not _same(os.path.basename(f), name, windows or os.path.normcase("A") == "a"):
                continue
            tail = self._tail_cache.get(f)
            if tail is None:
                tail = self._tail_cache[f] = package_tail(f)
            if len(tail) > len(parts) or not all(_same(a, b, windows) for a, b in zip(reversed(tail),
                                                                                 reversed(parts))):
                continue
            # among files whose package path fits, prefer the longest common tail of plain directories too
            fparts = [p for p in re.split(r"[\\/]+", f) if p]
            score = 0
            for a, b in zip(reversed(fparts), reversed(parts)):
                if not _same(a, b, windows):
                    break
                score += 1
            if score > best_score:
                best, best_score = f, score
        return best

    def _why_not(self, name, loaded):
        names = sorted(set(os.path.basename(f) for f in loaded))
        near = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        msg = "no file named %s is loaded" % name
        if near:
            full = [f for n in near for f in sorted(loaded) if os.path.basename(f) == n][:3]
            msg += "; nearest: " + ", ".join(full)
        msg += " (the breakpoint will be set if such a module loads; check pathMappings otherwise)"
        return msg

    # ---- remote -> client ----
    def to_client(self, remote_file):
        for local, remote in self.mappings:
            rparts, _ = split_client_path(remote)
            fparts, _ = split_client_path(remote_file)
            if len(fparts) >= len(rparts) and fparts[:len(rparts)] == rparts:
                _lparts, lwin = split_client_path(local)
                sep = "\\" if lwin else "/"
                rest = fparts[len(rparts):]
                return local.rstrip("\\/") + (sep + sep.join(rest) if rest else "")
        return remote_file
