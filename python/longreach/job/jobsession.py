"""A debugging session over the whole job: what a client gets when it attaches to the root without `?pid=`.

The root's own session runs as always (through the server, behind a stand-in connection, `RootPort`); every other
process of the job gets a session opened by the gateway (`ChildPort`), now and whenever a process joins later.
The client sees one DAP session:

- Requests that name a thread, frame, variables or source go to the process that id belongs to (ids.py); the rest
  go to the root. Breakpoints, exception filters and function breakpoints go to every process, present and future
  (the root answers; a process that joins later gets the latest of each, then configurationDone); `threads` lists
  every process's threads, named `pid 4242 rank 1: MainThread`.
- A breakpoint is verified when any process verified it: the ids are the root's, but a file only children load
  (torchrun's train.py) is one the root cannot resolve. The root's answer says verified where a child already did;
  a child verifying one later (its answer, or a module it imports) is a `breakpoint` event, once per breakpoint.
- Each process stops on its own (all-stop within the process); every stop reaches the client with its thread, so
  stops from several processes are never lost: each stays stopped until the client resumes that thread.
- A child's output is prefixed with its label (`[pid 4242 rank 1] `); a child that ends is announced on the console
  and its threads reported exited; the session carries on with the others.

Children are not held before their first line while they join (a process that ends before its session is open is
not stopped).

With `"childSessions": true` in the attach arguments (an editor that opens a debug session per process, DAP's
`startDebugging`) the session covers the root process alone and reports the other processes instead of joining
them: a `longreach/process` event when one is there or joins (`reason` "started") and when it leaves ("exited").
The client debugs each with a session of its own (`?pid=`); the job's hold still applies, released by that session.
"""

import threading

from longreach import log
from longreach.errors import LongreachError
from longreach.job import config as job_config
from longreach.job import ids

__all__ = ["JobSession"]

_log = log.get_logger("job")

BROADCAST = frozenset(["setBreakpoints", "setExceptionBreakpoints", "setFunctionBreakpoints"])
_DROP_FROM_CHILDREN = frozenset(["initialized", "process", "breakpoint", "module", "loadedSource", "capabilities",
                                 "exited", "terminated"])
THREADS_TIMEOUT = 1.0


class _Source(object):
    """The client's latest setBreakpoints for one source path, as the processes answered it."""
    __slots__ = ("gen", "ids", "sent", "children", "told")

    def __init__(self, gen):
        self.gen = gen          # which setBreakpoints (answers to older ones are ignored)
        self.ids = None         # the root's breakpoint ids, in request order, once it answered
        self.sent = False       # the root's answer is out: what a child verifies now is said by an event
        self.children = {}      # index -> the line where a child verified it (the first child's)
        self.told = set()       # indices the client was told are verified


class RootPort(object):
    """Stands in for the client's connection to the root's own session (same peer, same transport)."""

    def __init__(self, job, conn):
        self.job = job
        self.conn = conn
        self.peer = conn.peer
        self.ip = conn.ip
        self.is_tls = conn.is_tls
        self.authenticated = True
        self.state = {"alone": True}
        self.finishing = False

    @property
    def closed(self):
        return self.conn.closed

    def send(self, message):
        self.job.from_root(message)

    def finish(self):
        self.finishing = True

    def abort(self):
        self.conn.abort()


class ChildPort(object):
    """The session a child opened for the job session; `run` is its reader (the gateway's thread for the link)."""

    def __init__(self, job, slot, process, link):
        self.job = job
        self.slot = slot
        self.pid = process.pid
        self.label = process.label
        self.link = link
        self.threads = set()
        self.closed = False
        self.exited = False  # its exit was said (a terminated process says it, then its exit handler may again)
        self.pending = {}  # client requests forwarded here and not answered yet: seq -> command
        self.bp_ids = {}   # its breakpoint ids -> (client path, generation, index) of the client's breakpoint
        self._line_start = {}  # output category -> whether the next text starts a line

    def prefixed(self, body):
        """The output with `[pid 4242 rank 1] ` at the start of each line (output comes in pieces: a line may
        start in one event and end in another)."""
        category = body.get("category") or "console"
        text, prefix = body["output"], "[%s] " % self.name()
        out = []
        start = self._line_start.get(category, True)
        for piece in text.splitlines(True):
            out.append(prefix + piece if start else piece)
            start = piece.endswith("\n")
        self._line_start[category] = start
        return "".join(out)

    def name(self):
        return "pid %d%s" % (self.pid, " " + self.label if self.label else "")

    def to_child(self, message):
        return self.link.send(message)

    def run(self):
        try:
            while True:
                message = self.link.recv()
                if message is None:
                    break
                self.job.from_child(self, message)
        finally:
            self.link.close()
            self.job.child_ended(self)

    def close(self):
        self.closed = True
        self.link.close()


class JobSession(object):
    def __init__(self, gateway, server, conn):
        self.gateway = gateway
        self.server = server
        self.conn = conn
        self.root = RootPort(self, conn)
        self._lock = threading.Lock()
        self._ports = {}                # slot -> ChildPort
        self._by_pid = {}
        self._brought = {}              # pid -> the process join() took (a new one for the same pid is an exec)
        self._next_slot = 1
        self._seq = 1 << 40             # requests of our own to children; their answers are not the client's
        self._waiting = {}              # private seq -> [event, response]
        self._answers = {}              # private seq -> (port, what to do with that child's answer)
        self._sources = {}              # client source path -> _Source (breakpoints verified anywhere)
        self._asked = {}                # the client's setBreakpoints seq -> (path, generation), until the root answers
        self._gen = 0
        self._replay = {"attach": {}, "setBreakpoints": {}, "setExceptionBreakpoints": None,
                        "setFunctionBreakpoints": None}
        self._configured = False
        self._closed = False
        self._announce = None           # None before attach; True: children are reported, not joined
        self._announced = {}            # pid -> the process reported as started (announce mode)
        self._announcing = False        # the attach response is out: reports may go

    # ---- from the server -----------------------------------------------------------------------------------------
    def attach(self, args):
        """The client's attach: the root's session first (its errors are the client's), then every child."""
        self._replay["attach"] = dict(args)
        self._announce = args.get("childSessions") is True
        response = self._root_request("attach", args)
        if not response.get("success"):
            error = (response.get("body") or {}).get("error") or {}
            raise LongreachError(response.get("message") or "LR_INTERNAL", error.get("format") or "attach failed")
        if self._announce:
            self.conn.state.setdefault("then", []).append(self._start_announcing)
            return response.get("body")
        for process in self.gateway.members():
            self.join(process)
        return response.get("body")

    def to_child(self, message):
        """Every client message after attach (the server hands them over: conn.state["relay"] is this)."""
        if message.get("type") != "request":
            return
        command, args = message.get("command"), message.get("arguments") or {}
        slot = ids.route_of(args)
        if slot:
            port = self._ports.get(slot)
            if port is None:
                self._answer_error(message, "LR_BAD_REQUEST", "that thread, frame or variable belongs to a process "
                                   "that has ended; send threads for the current ids")
                return
            forwarded = dict(message, arguments=ids.inward(args))
            port.pending[message.get("seq")] = command
            if not port.to_child(forwarded):
                port.pending.pop(message.get("seq"), None)
                self._answer_error(message, "LR_CLOSED", "process %d has ended" % port.pid)
            return
        if command == "setBreakpoints":
            path = (args.get("source") or {}).get("path")
            with self._lock:
                self._gen += 1
                gen = self._gen
                self._sources[path] = _Source(gen)
                self._asked[message.get("seq")] = (path, gen)
                self._replay["setBreakpoints"][path] = (dict(args), gen)
                ports = list(self._ports.values())
            for port in ports:
                self._set_breakpoints(port, path, args, gen)
        elif command in BROADCAST:
            self._replay[command] = dict(args)
            self._to_children(command, args)
        elif command == "configurationDone":
            self._configured = True
            self._to_children(command, args)
        elif command == "threads":
            self._threads(message)
            return
        elif command in ("disconnect", "terminate"):
            self._closed = True  # the children's sessions end now: that is not news for the client
            if command == "terminate" or args.get("terminateDebuggee") is True:
                self.gateway.end_with_root()
            self._to_children(command, args)
        self._root(message)
        if self.root.finishing:
            self.conn.finish()

    def close(self):
        """The client went away: detach everywhere."""
        self._closed = True
        with self._lock:
            ports = list(self._ports.values())
            self._ports = {}
        for port in ports:
            port.close()
        self.server.release_port(self.root)
        self.gateway.job_session_ended(self)

    # ---- the root ------------------------------------------------------------------------------------------------
    def _root(self, message):
        self.root.state["then"] = []
        self.server.handle_port_message(self.root, message)

    def _root_request(self, command, args):
        seq = self._private_seq()
        box = self._waiting[seq] = [threading.Event(), None]
        self._root({"seq": seq, "type": "request", "command": command, "arguments": args})
        self._waiting.pop(seq, None)
        return box[1] or {"success": False, "message": "LR_INTERNAL"}

    def from_root(self, message):
        if message.get("type") == "response" and message.get("request_seq") in self._waiting:
            box = self._waiting[message["request_seq"]]
            box[1] = message
            box[0].set()
            return
        asked = None
        if message.get("type") == "response" and message.get("command") == "setBreakpoints":
            with self._lock:
                asked = self._asked.pop(message.get("request_seq"), None)
            if asked is not None:
                message = self._root_answered(asked, message)
        elif message.get("type") == "event" and message.get("event") == "breakpoint":
            self._root_verified(message.get("body"))
        message = dict(message)
        message.pop("seq", None)
        self.conn.send(self._across(message))
        if asked is not None:
            self._root_answer_sent(asked)

    def _across(self, message):
        """With several processes, a stop or a resume holds for one process only: say so (other processes run
        on), so a client queues stops from several processes instead of taking one for all."""
        if message.get("type") != "event" or not self._ports:
            return message
        key = {"stopped": "allThreadsStopped", "continued": "allThreadsContinued"}.get(message.get("event"))
        if key is None or not isinstance(message.get("body"), dict):
            return message
        return dict(message, body=dict(message["body"], **{key: False}))

    # ---- children ----------------------------------------------------------------------------------------------------
    def join(self, process):
        """A process of the job (there at attach, or joining later): open its session and bring it up to date."""
        if self._closed or process.helper or self._announce is None:
            return  # before attach, attach() itself brings in every process there
        if self._announce:
            self._report(process)
            return
        with self._lock:
            if self._brought.get(process.pid) is process:
                return  # joined (or joining) already: it joined while attach() was bringing in the processes there
            self._brought[process.pid] = process
            stale = self._by_pid.pop(process.pid, None)
            if stale is not None:  # the same pid again: it exec'd, and the old image's session is gone
                self._ports.pop(stale.slot, None)
        if stale is not None:
            stale.close()
        ask = None
        for _ in range(3):  # a busy machine may keep a starting process from answering in time: ask again
            ask = self.gateway.open_session(process, self.conn)
            if ask is not None or self._closed or not self.gateway.is_member(process):
                break
        if ask is None:
            _log.warning("process %d did not open its session; it is not part of the job session", process.pid)
            return
        link = ask["link"]
        with self._lock:
            if self._closed or self._next_slot > ids.MAX_SLOT:
                link.close()
                self.gateway.run_port(ask, None)
                return
            port = ChildPort(self, self._next_slot, process, link)
            self._next_slot += 1
            self._ports[port.slot] = port
            self._by_pid[process.pid] = port
        self.gateway.run_port(ask, port)
        self._private(port, "attach", self._replay["attach"])
        with self._lock:
            replay = list(self._replay["setBreakpoints"].items())
        for path, (args, gen) in replay:
            self._set_breakpoints(port, path, args, gen)
        for command in ("setExceptionBreakpoints", "setFunctionBreakpoints"):
            if self._replay[command] is not None:
                self._private(port, command, self._replay[command])
        if self._configured:
            self._private(port, "configurationDone", {})
        _log.info("process %d joined the job session", process.pid)

    # ---- announce mode: each child has a session of its own ---------------------------------------------------------
    def _start_announcing(self):
        with self._lock:
            self._announcing = True
        for process in self.gateway.members():
            self._report(process)

    def _report(self, process):
        """`longreach/process` "started" for a process not reported yet (an exec'd pid is reported again)."""
        with self._lock:
            if not self._announcing or self._closed or self._announced.get(process.pid) is process:
                return
            self._announced[process.pid] = process
        self.conn.send({"type": "event", "event": "longreach/process", "body": {
            "reason": "started", "pid": process.pid, "ppid": process.ppid, "label": process.label}})

    def left(self, process):
        """A process left the job (gateway): in announce mode, say so if it was reported."""
        with self._lock:
            if self._announced.get(process.pid) is not process or self._closed:
                return
            del self._announced[process.pid]
        self.conn.send({"type": "event", "event": "longreach/process", "body": {"reason": "exited",
                                                                                "pid": process.pid}})

    def _private(self, port, command, args, then=None):
        """A request of our own to a child; `then(response)` runs on its reader thread when it answers."""
        seq = self._private_seq()
        if then is not None:
            with self._lock:
                self._answers[seq] = (port, then)
        if not port.to_child({"seq": seq, "type": "request", "command": command, "arguments": args}) \
                and then is not None:
            with self._lock:
                self._answers.pop(seq, None)

    def _to_children(self, command, args):
        with self._lock:
            ports = list(self._ports.values())
        for port in ports:
            self._private(port, command, args)

    def _private_seq(self):
        with self._lock:
            self._seq += 1
            return self._seq

    def from_child(self, port, message):
        kind = message.get("type")
        if kind == "response":
            box = self._waiting.get(message.get("request_seq"))
            if box is not None:
                box[1] = message
                box[0].set()
                return
            if message.get("request_seq", 0) > (1 << 40):  # the answer to one of our own requests
                with self._lock:
                    then = self._answers.pop(message.get("request_seq"), None)
                if then is not None:
                    self._quietly(then[1], message)
                return
            port.pending.pop(message.get("request_seq"), None)
        elif kind == "event":
            event = message.get("event")
            body = message.get("body") or {}
            if event == "thread" and isinstance(body.get("threadId"), int):
                (port.threads.add if body.get("reason") == "started" else port.threads.discard)(body["threadId"])
            if event == "stopped" and isinstance(body.get("threadId"), int):
                port.threads.add(body["threadId"])
                if not job_config.final(port.label):  # a DataLoader worker knows what it is once torch set it up
                    port.label = self.gateway.label_of(port.pid) or port.label
            if event == "exited" and not port.exited:
                port.exited = True
                self._console("%s exited with code %s\n" % (port.name(), body.get("exitCode")))
            if event == "breakpoint":
                self._quietly(self._child_breakpoint, port, body)
            if event in _DROP_FROM_CHILDREN:
                return
            if event == "output" and isinstance(body.get("output"), str) and body.get("category") != "telemetry":
                message = dict(message, body=dict(body, output=port.prefixed(body)))
        hit = (message.get("body") or {}).get("hitBreakpointIds") if message.get("event") == "stopped" else None
        message = ids.outward(message, port.slot, port.name() + ": ")
        message.pop("seq", None)
        hit = self._root_ids(port, hit) if isinstance(hit, list) else None
        if hit:  # a child's ids are its own: the client knows the root's (a stop names the breakpoint by them)
            message["body"]["hitBreakpointIds"] = hit
        self.conn.send(self._across(message))

    def child_ended(self, port):
        with self._lock:
            known = self._ports.pop(port.slot, None)
            self._by_pid.pop(port.pid, None)
            for seq in [seq for seq, (asked, _) in self._answers.items() if asked is port]:
                del self._answers[seq]
        if known is None or self._closed:
            return
        for seq, command in list(port.pending.items()):
            self._answer_error({"seq": seq, "command": command}, "LR_CLOSED", "%s ended before answering %s; the "
                               "other processes of the job go on" % (port.name(), command))
        port.pending.clear()
        for tid in sorted(port.threads):
            self.conn.send({"type": "event", "event": "thread", "body": {"reason": "exited",
                                                                        "threadId": ids.join(port.slot, tid)}})
        self._console("%s left the job session\n" % port.name())

    # ---- breakpoints verified in any process -----------------------------------------------------------------------
    def _set_breakpoints(self, port, path, args, gen):
        self._private(port, "setBreakpoints", args,
                      lambda response: self._child_answered(port, path, gen, response))

    def _child_answered(self, port, path, gen, response):
        """(the child's reader thread) Its answer to setBreakpoints `gen` of `path`: learn its ids, and tell the
        client of what it verified."""
        bps = (response.get("body") or {}).get("breakpoints") if response.get("success") else None
        if not isinstance(bps, list):
            return
        events = []
        with self._lock:
            source = self._sources.get(path)
            if source is None or source.gen != gen:
                return  # a newer setBreakpoints for that path started over
            port.bp_ids = dict((k, v) for k, v in port.bp_ids.items() if v[0] != path)
            for index, bp in enumerate(bps):
                if isinstance(bp, dict) and isinstance(bp.get("id"), int):
                    port.bp_ids[bp["id"]] = (path, gen, index)
                if isinstance(bp, dict) and bp.get("verified") is True:
                    events.append(self._child_verified(source, index, bp.get("line")))
        self._send_all(events)

    def _child_breakpoint(self, port, body):
        """(the child's reader thread) Its `breakpoint` event: one it verified later (a module it imported)."""
        bp = body.get("breakpoint")
        if not isinstance(bp, dict) or bp.get("verified") is not True or not isinstance(bp.get("id"), int):
            return
        with self._lock:
            where = port.bp_ids.get(bp["id"])
            source = self._sources.get(where[0]) if where is not None else None
            if source is None or source.gen != where[1]:
                return
            event = self._child_verified(source, where[2], bp.get("line"))
        self._send_all([event])

    def _child_verified(self, source, index, line):
        """(lock held) A child verified breakpoint `index` of `source`: the event for the client if that is news
        to it, else None."""
        source.children.setdefault(index, line)
        if not source.sent or index in source.told or index >= len(source.ids) or source.ids[index] is None:
            return None
        source.told.add(index)
        bp = {"id": source.ids[index], "verified": True}
        if isinstance(line, int):
            bp["line"] = line
        return {"type": "event", "event": "breakpoint", "body": {"reason": "changed", "breakpoint": bp}}

    def _root_ids(self, port, hit):
        """The root's ids (the client's) of the breakpoints a child's stop names by its own ids."""
        out = []
        with self._lock:
            for where in (port.bp_ids.get(i) for i in hit if isinstance(i, int)):
                source = self._sources.get(where[0]) if where is not None else None
                if source is not None and source.gen == where[1] and source.ids and where[2] < len(source.ids) \
                        and isinstance(source.ids[where[2]], int):
                    out.append(source.ids[where[2]])
        return out

    def _root_answered(self, asked, response):
        """The root's answer to the client's setBreakpoints, verified where a child verified already."""
        path, gen = asked
        body = response.get("body") if isinstance(response.get("body"), dict) else {}
        bps = body.get("breakpoints") if response.get("success") else None
        bps = bps if isinstance(bps, list) else []
        out = []
        with self._lock:
            source = self._sources.get(path)
            if source is None or source.gen != gen:
                return response
            source.ids = [bp.get("id") if isinstance(bp, dict) else None for bp in bps]
            for index, bp in enumerate(bps):
                if isinstance(bp, dict) and bp.get("verified") is not True and index in source.children:
                    bp = dict(bp, verified=True)
                    bp.pop("message", None)
                    if isinstance(source.children[index], int):
                        bp["line"] = source.children[index]
                if isinstance(bp, dict) and bp.get("verified") is True:
                    source.told.add(index)
                out.append(bp)
        if not out:
            return response
        return dict(response, body=dict(body, breakpoints=out))

    def _root_answer_sent(self, asked):
        """The client has the root's ids now: tell it of what children verified while the root answered."""
        path, gen = asked
        events = []
        with self._lock:
            source = self._sources.get(path)
            if source is None or source.gen != gen or source.ids is None:
                return
            source.sent = True
            for index, line in sorted(source.children.items()):
                events.append(self._child_verified(source, index, line))
        self._send_all(events)

    def _root_verified(self, body):
        """The root's own `breakpoint` event (passed on as it is): one it verified need not be said again."""
        bp = (body or {}).get("breakpoint") if isinstance(body, dict) else None
        if not isinstance(bp, dict) or bp.get("verified") is not True or not isinstance(bp.get("id"), int):
            return
        with self._lock:
            for source in self._sources.values():
                if source.ids is not None and bp["id"] in source.ids:
                    source.told.add(source.ids.index(bp["id"]))

    def _send_all(self, events):
        for event in events:
            if event is not None:
                self.conn.send(event)

    def _quietly(self, fn, *args):
        """On a child's reader thread: a mistake here must not end that child's part in the session."""
        try:
            fn(*args)
        except Exception:
            _log.exception("handling a message of a child of the job session")

    def _threads(self, message):
        with self._lock:
            ports = list(self._ports.values())
        unnamed = [port for port in ports if not job_config.final(port.label)]
        if unnamed:  # a label may come after joining (a spawned child learns its name, a DataLoader worker its id)
            labels = self.gateway.labels_of([port.pid for port in unnamed])
            for port in unnamed:
                port.label = labels.get(port.pid) or port.label
        boxes = []
        for port in ports:
            seq = self._private_seq()
            box = self._waiting[seq] = [threading.Event(), None, port]
            port.to_child({"seq": seq, "type": "request", "command": "threads", "arguments": {}})
            boxes.append((seq, box))
        seq = self._private_seq()
        mine = self._waiting[seq] = [threading.Event(), None]
        self._root({"seq": seq, "type": "request", "command": "threads", "arguments": {}})
        self._waiting.pop(seq, None)
        threads = list(((mine[1] or {}).get("body") or {}).get("threads") or [])
        if ports:
            own = self.gateway.root_name() + ": "
            threads = [dict(t, name=own + str(t.get("name", ""))) if isinstance(t, dict) else t for t in threads]
        for seq, box in boxes:
            box[0].wait(THREADS_TIMEOUT)
            self._waiting.pop(seq, None)
            if box[1] is not None and box[1].get("success"):
                port = box[2]
                body = ids.outward(box[1], port.slot, port.name() + ": ").get("body") or {}
                threads.extend(body.get("threads") or [])
        self.conn.send({"type": "response", "request_seq": message.get("seq"), "command": "threads",
                        "success": True, "body": {"threads": threads}})

    def _answer_error(self, message, code, text):
        from longreach.errors import error_body
        self.conn.send({"type": "response", "request_seq": message.get("seq"), "command": message.get("command"),
                        "success": False, "message": code, "body": error_body(code, text)})

    def _console(self, text):
        self.conn.send({"type": "event", "event": "output", "body": {"category": "console",
                                                                     "output": "longreach: " + text}})
