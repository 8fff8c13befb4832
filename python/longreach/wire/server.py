"""The debug server's policy: listener, the authentication gate, the one-session rule, server-level requests.

docs/protocol.md sections 3-5. Connection mechanics (TLS, framing, sends, closing) live in connection.py; the
debugging itself lives in longreach.session, handed in by the API as `session_factory` (this room never imports it).
"""

import errno
import os
import select
import socket
import threading
import time

from longreach import log, processinfo
from longreach._threads import start_agent_thread
from longreach.errors import LongreachError, error_body
from longreach.wire import auth
from longreach.wire.connection import Connection, drop_inherited, format_peer
from longreach.wire.framing import DEFAULT_BODY_LIMIT
from longreach.wire.pending import Admission, Gate
from longreach.wire.throttle import Throttle

__all__ = ["Server", "tls_context", "DEFAULT_CAPABILITIES"]

_log = log.get_logger("server")
_auth_log = log.get_logger("auth")
_dap_log = log.get_logger("dap")

DEFAULT_CAPABILITIES = {"supportsConfigurationDoneRequest": True}
SESSION_CLOSE_WAIT = 10.0  # how long an attach waits for the previous session to finish detaching
_PRE_AUTH = frozenset(["initialize", "authenticate", "attach", "disconnect"])
_AUTH_FAILED = "secret did not match (check the part before @ in the qualifier)"
_ATTACH_SECRET_FAILED = "secret did not match (check the \"secret\" attach argument)"


def tls_context(certfile, keyfile):
    """A server-side TLS context (TLS 1.2 or newer) or LongreachError(LR_CERT) saying what is wrong."""
    if not certfile or not keyfile:
        raise LongreachError("LR_CERT", "TLS needs both certfile and keyfile (got %s only); create a pair with "
                             "`longreach cert create`" % ("certfile" if certfile else "keyfile"))
    for name, path in (("certfile", certfile), ("keyfile", keyfile)):
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            raise LongreachError("LR_CERT", "%s %r is not a readable file" % (name, path))
    import ssl  # here, not with the agent: it loads OpenSSL (megabytes every forked child would copy)
    try:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(certfile, keyfile)
    except (ssl.SSLError, OSError, ValueError) as err:
        raise LongreachError("LR_CERT", "cannot use certfile %r with keyfile %r: %s (both must be PEM and the key "
                             "must belong to the certificate)" % (certfile, keyfile, getattr(err, "reason", None)
                                                                  or err))
    return context


def _ascii(host):
    """An ASCII host name as bytes: getaddrinfo() then does not load the idna codec (and unicodedata) for it."""
    try:
        return host.encode("ascii")
    except UnicodeEncodeError:
        return host


def _now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Server(object):
    def __init__(self, secret, host="0.0.0.0", port=5678, tls=None, allow_plain_secret=False,
                 redirect_output=True, session_factory=None, capabilities=None, throttle=None,
                 auth_timeout=10.0, body_limit=DEFAULT_BODY_LIMIT, max_connections=64):
        self.secret = secret
        self.host = host
        self.port = port
        self.tls = tls
        self.allow_plain_secret = allow_plain_secret
        self.redirect_output = redirect_output
        self.session_factory = session_factory
        self.capabilities = dict(DEFAULT_CAPABILITIES if capabilities is None else capabilities)
        self.throttle = throttle or Throttle()
        self.auth_timeout = auth_timeout
        self.body_limit = body_limit
        self.max_connections = max_connections
        self.address = None
        self._lock = threading.Lock()
        # held while a session is made or closed: a new session never starts while the last one is still tearing
        # its tracer down (which could otherwise remove the new one's trace functions)
        self._sessions = threading.RLock()
        self._connections = set()
        self._attached = None          # the attached Connection
        self._attached_since = None
        self._configured = threading.Event()
        self._listener = None
        self._wake = None
        self._thread = None
        self._closing = False
        self.dialer = None             # reverse connect (dial.py): this server serves what the dialer dials
        # connections that have not authenticated wait here, on one thread, not one thread each (pending.py)
        full = max(2, max_connections * 3 // 4)
        self._gate = Gate(self._hand_over, Admission(start=full // 3, full=full))
        # Jobs (docs/protocol.md 5.3): a gateway (root) or member (child) from longreach.job, or None. Duck-typed:
        # process_info(own, wake) -> body, select(conn, pid) -> body, pids() -> [pid]. A connection relayed to another
        # process of the job has conn.state["relay"] (to_child(message), close()).
        self.job = None
        self._handlers = {
            "initialize": self._initialize,
            "authenticate": self._authenticate,
            "attach": self._attach,
            "disconnect": self._disconnect,
            "longreach/processInfo": self._process_info,
            "longreach/selectProcess": self._select_process,
        }

    # ---- lifecycle -------------------------------------------------------------------------------------------
    def listen(self):
        """Bind and listen; returns the (host, port) bound. LongreachError on failure."""
        shown = format_peer((self.host, self.port))
        try:
            infos = socket.getaddrinfo(_ascii(self.host or "0.0.0.0"), self.port, 0, socket.SOCK_STREAM, 0,
                                       socket.AI_PASSIVE)
        except (socket.gaierror, UnicodeError, OverflowError) as err:
            raise LongreachError("LR_BAD_OPTION", "cannot listen on %s: %s" % (shown, err))
        family, _, _, _, sockaddr = infos[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            if os.name == "posix":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            elif hasattr(socket, "SO_EXCLUSIVEADDRUSE"):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
            sock.bind(sockaddr)
            sock.listen(128)
            sock.setblocking(False)
        except OSError as err:
            sock.close()
            if err.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
                raise LongreachError("LR_ADDRESS_IN_USE", "%s is already in use; choose another port (port 0 "
                                     "picks a free one) or stop the process using it" % shown)
            raise LongreachError("LR_BAD_OPTION", "cannot listen on %s: %s" % (shown, err.strerror or err))
        self._listener = sock
        self.address = sock.getsockname()[:2]
        _log.info("listening on %s (%s, %s)", format_peer(self.address), "tls" if self.tls else "tcp",
                  "secret" if self.secret is not None else "no secret")
        return self.address

    def start(self):
        self._wake = socket.socketpair()
        self._thread = start_agent_thread(self._accept_loop, "longreach-listener")

    def close(self, timeout=1.0):
        """Stop listening, detach the session, close every connection. Never blocks for long; never raises."""
        self._closing = True
        if self.dialer is not None:
            self.dialer.close()
        wake = self._wake
        if wake is not None:
            try:
                wake[1].send(b"x")
            except OSError:
                pass
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            self._detach(conn)
            conn.abort()
        self._gate.close(timeout)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        elif thread is None and self._listener is not None:
            self._listener.close()

    def after_fork_in_child(self):
        """In a forked child: drop inherited descriptors (without disturbing the parent's sockets) and detach."""
        self._closing = True
        if self.dialer is not None:
            self.dialer.after_fork_in_child()
        sessions = []
        if self._connections:  # (an idle server has none: every object a fork child touches costs it a page)
            for conn in list(self._connections):
                session = conn.state.pop("session", None)
                if session is not None:
                    sessions.append(session)
                conn.forget()
            self._connections = set()
        if self._attached is not None:  # a job session's port to this process's session is no connection here
            session = self._attached.state.pop("session", None)
            if session is not None:
                sessions.append(session)
        self._attached = None
        self._gate.forget()
        drop_inherited(self._listener)
        if self._wake is not None:
            drop_inherited(self._wake[0])
            drop_inherited(self._wake[1])
        for session in sessions:
            try:
                session.close()
            except Exception:
                _log.exception("closing the inherited session after fork failed")

    # ---- state for api.py ------------------------------------------------------------------------------------
    def current_session(self):
        conn = self._attached
        return None if conn is None else conn.state.get("session")

    def attached_info(self):
        with self._lock:
            if self._attached is None:
                return None
            return {"address": self._attached.peer, "since": self._attached_since}

    def wait_configured(self, timeout=None):
        return self._configured.wait(timeout)

    def is_closing(self):
        return self._closing

    # ---- listener thread -------------------------------------------------------------------------------------
    def _accept_loop(self):
        listener, wake = self._listener, self._wake[0]
        try:
            while not self._closing:
                readable = _wait_readable([listener, wake])
                if wake in readable or self._closing:
                    break
                try:
                    sock, address = listener.accept()
                except (BlockingIOError, InterruptedError):  # (the listener is plain TCP; TLS starts per connection)
                    continue
                except OSError as err:
                    _log.warning("accept failed: %s", err)
                    time.sleep(0.1)  # e.g. out of descriptors: do not spin
                    continue
                self._admit(sock, address)
        except Exception:
            _log.exception("listener failed")
        finally:
            for sock in (listener, wake, self._wake[1]):
                try:
                    sock.close()
                except OSError:
                    pass

    def _admit(self, sock, address, authenticated=False):
        with self._lock:
            full = len(self._connections) >= self.max_connections
        if full:
            _log.warning("refusing %s: %d connections already open", format_peer(address), self.max_connections)
            sock.close()
            return
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        conn = Connection(sock, address, self._on_message, self._on_closed, tls_context=self.tls,
                          auth_timeout=self.auth_timeout, body_limit=self.body_limit)
        if not authenticated and not self._gate.admit(conn):
            _log.warning("refusing %s: too many connections waiting to authenticate", conn.peer)
            sock.close()
            return
        if self.secret is None or authenticated:
            conn.mark_authenticated()
        with self._lock:
            self._connections.add(conn)
        _log.info("connection from %s", conn.peer)
        self._gate.add(conn)

    def _hand_over(self, conn):
        """The gate's hand-over: `conn` authenticated (or sent attach) and gets a reader thread of its own."""
        try:
            conn.thread = start_agent_thread(conn.run, "longreach-conn " + conn.peer)
        except Exception:
            _log.exception("cannot start a thread for %s", conn.peer)
            self._on_closed(conn)
            conn.forget()

    def adopt(self, sock, address, is_tls=False, peer=None, handlers=None, on_closed=None, seq=0):
        """Serve a connection the agent dialed and authenticated itself (reverse connect, wire/dial.py): from
        here on it is handled like an authenticated client's. `handlers` answer extra requests on it; `on_closed`
        is told when it ends; `seq` is the last sequence number the dialer used on it."""
        def closed(conn):
            self._on_closed(conn)
            if on_closed is not None:
                on_closed(conn)

        conn = Connection(sock, address, self._on_message, closed, auth_timeout=self.auth_timeout,
                          body_limit=self.body_limit)
        conn.is_tls = is_tls
        conn._seq = seq
        if peer:
            conn.peer = peer
        conn.state["handlers"] = dict(handlers or {})
        conn.mark_authenticated()
        with self._lock:
            if self._closing:  # a session dial that finished while the program was ending
                sock.close()
                raise LongreachError("LR_CLOSED", "the debug server is closing")
            self._connections.add(conn)
        conn.thread = start_agent_thread(conn.run, "longreach-conn " + conn.peer)
        return conn

    def handle_port_message(self, port, message):
        """A message for this process's own session from a job session (longreach.job), as if `port` were a
        connection: same gate, same handlers, the reply goes to port.send."""
        self._on_message(port, message)

    def release_port(self, port):
        self._detach(port)

    def admit(self, sock, address):
        """Serve a connection that is authenticated already (a job's gateway opened it for a client it admitted)."""
        self._admit(sock, address, authenticated=True)

    def _on_closed(self, conn):
        _log.info("connection from %s closed", conn.peer)
        self._gate.release(conn)
        relay = conn.state.pop("relay", None)
        if relay is not None:
            relay.close()
        self._detach(conn)
        with self._lock:
            self._connections.discard(conn)

    # ---- requests ----------------------------------------------------------------------------------------------
    def _on_message(self, conn, message):
        relay = conn.state.get("relay")
        if relay is not None:  # selected another process of the job: everything goes there
            relay.to_child(message)
            return
        if message.get("type") != "request":
            _dap_log.debug("ignoring a %r message from %s", message.get("type"), conn.peer)
            return
        seq, command, args = message.get("seq"), message.get("command"), message.get("arguments")
        if args is None:
            args = {}
        reply = {"type": "response", "request_seq": seq if _is_int(seq) else 0,
                 "command": command if isinstance(command, str) else ""}
        conn.state["then"] = []
        conn.state["handling"] = threading.get_ident()
        try:
            if not _is_int(seq) or not isinstance(command, str):
                raise LongreachError("LR_BAD_REQUEST", "a request needs an integer \"seq\" and a string \"command\"")
            if not isinstance(args, dict):
                raise LongreachError("LR_BAD_REQUEST", "\"arguments\" of %r must be an object" % command)
            body = self._dispatch(conn, command, args)
        except LongreachError as err:
            reply.update(success=False, message=err.code, body=error_body(err.code, err.message,
                                                                          err.retry_after_ms))
        except Exception:
            _dap_log.exception("request %r from %s failed", command, conn.peer)
            text = "internal error in the Longreach agent while handling %r (details in the LONGREACH_LOG=dap " \
                   "log)" % (command,)
            reply.update(success=False, message="LR_INTERNAL", body=error_body("LR_INTERNAL", text))
        else:
            reply["success"] = True
            if body is not None:
                reply["body"] = body
        conn.state["handling"] = None
        conn.send(reply)
        for then in conn.state.pop("then", ()):
            try:
                then()
            except Exception:
                _dap_log.exception("after %r from %s", command, conn.peer)

    def _dispatch(self, conn, command, args):
        if not conn.authenticated and command not in _PRE_AUTH:
            raise LongreachError("LR_AUTH_REQUIRED", "authentication required: send authenticate after initialize")
        handler = self._handlers.get(command) or conn.state.get("handlers", {}).get(command)
        if handler is not None:
            return handler(conn, args)
        session = conn.state.get("session")
        if session is None:
            raise LongreachError("LR_BAD_REQUEST", "%r needs an attached debugger: send attach first" % command)
        return session.handle(command, args)

    def _initialize(self, conn, args):
        if conn.state.get("initialized"):
            raise LongreachError("LR_BAD_REQUEST", "initialize may be sent only once per connection")
        version = args.get("longreachProtocol", processinfo.PROTOCOL)
        if not (_is_int(version) and version == processinfo.PROTOCOL):
            conn.finish()
            raise LongreachError("LR_VERSION_MISMATCH", "client speaks Longreach protocol %s, this agent speaks "
                                 "protocol %d; upgrade the older side" % (str(version)[:20], processinfo.PROTOCOL))
        conn.state["initialized"] = True
        longreach = {"protocol": processinfo.PROTOCOL,
                     "agent": "%s %s" % (processinfo.AGENT_NAME, processinfo.AGENT_VERSION),
                     "auth": "none" if self.secret is None else "hmac-sha256"}
        if self.secret is not None:
            conn.state["nonce"] = auth.new_nonce()
            longreach["nonce"] = auth.b64(conn.state["nonce"])
        body = dict(self.capabilities)
        body["longreach"] = longreach
        return body

    def _authenticate(self, conn, args):
        if not conn.state.get("initialized"):
            raise LongreachError("LR_BAD_REQUEST", "send initialize first")
        if self.secret is None:
            return None
        if conn.authenticated:
            raise LongreachError("LR_BAD_REQUEST", "this connection is already authenticated")
        self._check_throttle(conn)
        nonce = self._take_nonce(conn)
        try:
            client_nonce = auth.decode_client_nonce(args.get("clientNonce"))
        except LongreachError:
            conn.finish()
            raise
        if not auth.check_proof(self.secret, nonce, client_nonce, args.get("proof")):
            self._auth_failed(conn, "authenticate")
        self._auth_ok(conn, "authenticate")
        return {"serverProof": auth.server_proof(self.secret, nonce, client_nonce)}

    def _attach(self, conn, args):
        args = dict(args)
        offered = args.pop("secret", None)  # the session never sees the secret
        if not conn.authenticated:
            self._attach_with_secret(conn, offered)
        if self.session_factory is None:
            raise LongreachError("LR_UNSUPPORTED", "this agent cannot debug: its session module failed to load "
                                 "(details in the LONGREACH_LOG=server log)")
        if self.job is not None and not conn.state.get("alone") and hasattr(self.job, "job_session"):
            # the root of a job: the session spans the job; this process's own session runs behind a port
            job_session = self.job.job_session(self, conn)
            conn.state["relay"] = job_session
            try:
                return job_session.attach(args)
            except BaseException:
                conn.state.pop("relay", None)
                job_session.close()
                raise
        with self._lock:
            if conn.state.get("session") is not None:
                raise LongreachError("LR_BAD_REQUEST", "this connection is already attached")
            if self._attached is not None:
                raise LongreachError("LR_ALREADY_ATTACHED", "already attached by %s since %s" % (
                    self._attached.peer, self._attached_since))
            if conn.closed or self._closing:
                raise LongreachError("LR_CLOSED", "the connection is closing")
            self._attached, self._attached_since = conn, _now_iso()
            self._configured.clear()
        session = None
        try:
            options = {"on_configured": lambda: self._on_configured(conn), "redirect_output": self.redirect_output,
                       "is_tls": conn.is_tls, "after_reply": lambda fn: self._after_reply(conn, fn)}
            if not self._sessions.acquire(True, SESSION_CLOSE_WAIT):
                raise LongreachError("LR_ALREADY_ATTACHED", "the previous debugger is still detaching; attach again")
            try:
                session = self.session_factory(conn.send, conn.peer, options)
                conn.state["session"] = session
                body = session.handle("attach", args)
            finally:
                self._sessions.release()
        except BaseException:
            self._detach(conn)  # closes the half-made session, if any
            raise
        conn.state["then"].append(session.started)
        _log.info("%s attached", conn.peer)
        return body

    def _attach_with_secret(self, conn, offered):
        if offered is None:
            raise LongreachError("LR_SECRET_REQUIRED", "this debug server needs a secret: attach with "
                                 "tcp://SECRET@host:port (or send authenticate after initialize)")
        if not conn.state.get("initialized"):
            raise LongreachError("LR_BAD_REQUEST", "send initialize first")
        if not conn.is_tls and not self.allow_plain_secret:
            conn.finish()
            raise LongreachError("LR_INSECURE_SECRET", "refusing a secret sent in clear over tcp://; use tcps:// "
                                 "or the authenticate request")
        self._check_throttle(conn)
        self._take_nonce(conn)
        if not auth.secrets_equal(self.secret, offered):
            self._auth_failed(conn, "attach secret")
        self._auth_ok(conn, "attach secret")

    def _disconnect(self, conn, args):
        session = conn.state.get("session")
        if session is not None and args.get("terminateDebuggee") is True:
            _log.info("%s asked to terminate the program", conn.peer)
            session.handle("terminate", {})
        elif session is not None:
            # resume the program only once the response is out: a program that then runs to its end at once
            # could otherwise exit before the client heard that it was detached
            self._after_reply(conn, lambda: self._detach(conn))
        conn.finish()
        return None

    def _process_info(self, conn, args):
        info = processinfo.process_info(self.attached_info())
        if self.job is None:
            return info
        # {"wake": false}: a hub registering this agent, not a client asking for the job (docs/protocol.md 5.3)
        return self.job.process_info(info, wake=args.get("wake") is not False)

    def _select_process(self, conn, args):
        """docs/protocol.md 5.3: a client that names a process (?pid=) asks for it before attach."""
        pid = args.get("pid")
        if not _is_int(pid) or pid <= 0:
            raise LongreachError("LR_BAD_REQUEST", "longreach/selectProcess needs {\"pid\": <positive integer>}")
        if conn.state.get("session") is not None:
            raise LongreachError("LR_BAD_REQUEST", "select the process before attach")
        if pid != os.getpid() and self.job is not None:
            return self.job.select(conn, pid)
        conn.state["alone"] = True  # ?pid= of this process: this process only, not its job
        if pid != os.getpid():
            raise LongreachError("LR_NO_SUCH_PROCESS", "no process %d is reachable through this address; its "
                                 "processes: %d (see longreach list)" % (pid, os.getpid()))
        return {"capabilities": dict(self.capabilities)}

    # ---- helpers -----------------------------------------------------------------------------------------------
    def _take_nonce(self, conn):
        nonce = conn.state.pop("nonce", None)
        if nonce is None:
            conn.finish()
            raise LongreachError("LR_BAD_REQUEST", "this connection's nonce was already used; reconnect and "
                                 "authenticate once")
        return nonce

    def _check_throttle(self, conn):
        wait = self.throttle.retry_in(conn.ip)
        if wait > 0:
            _auth_log.warning("throttled attempt from %s (retry in %.1f s)", conn.peer, wait)
            conn.finish()
            raise LongreachError("LR_THROTTLED", "too many failed attempts from %s; retry in %.1f s" % (
                conn.ip, max(wait, 0.1)), retry_after_ms=int(wait * 1000 + 0.999))

    def _auth_ok(self, conn, how):
        self.throttle.success(conn.ip)
        conn.mark_authenticated()
        self._gate.release(conn)
        _auth_log.info("%s authenticated (%s)", conn.peer, how)

    def _auth_failed(self, conn, how):
        window = self.throttle.failure(conn.ip)
        _auth_log.warning("failed authentication from %s (%s); further attempts refused for %.2f s",
                          conn.peer, how, window)
        conn.finish()
        raise LongreachError("LR_AUTH_FAILED", _ATTACH_SECRET_FAILED if how == "attach secret" else _AUTH_FAILED)

    def _on_configured(self, conn):
        """wait_for_attach() returns once configuration is done, but only after the configurationDone response is
        on the wire, so the client never sees the program's first events before that response."""
        if conn.state.get("handling") == threading.get_ident():
            conn.state["then"].append(lambda: self._on_configured(conn))
        elif self._attached is conn:
            self._configured.set()

    def _after_reply(self, conn, fn):
        """Run fn() once the response to the request being handled is on the wire (at once outside a handler): a
        resumed program must not be able to send its next stop before the response that resumed it."""
        if conn.state.get("handling") == threading.get_ident():
            conn.state["then"].append(fn)
        else:
            fn()

    def _detach(self, conn):
        """Release the attach slot and close the connection's session, exactly once."""
        with self._lock:
            session = conn.state.pop("session", None)
            if self._attached is conn:
                self._attached = self._attached_since = None
                self._configured.clear()
        if session is not None:
            _log.info("%s detached", conn.peer)
            with self._sessions:
                _close_session(session, conn)


def _close_session(session, conn):
    try:
        session.close()
    except Exception:
        _dap_log.exception("closing the session of %s failed", conn.peer)


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _wait_readable(socks):
    if hasattr(select, "poll"):
        poller = select.poll()
        by_fd = {}
        for sock in socks:
            poller.register(sock, select.POLLIN)
            by_fd[sock.fileno()] = sock
        try:
            return [by_fd[fd] for fd, _ in poller.poll()]
        except InterruptedError:
            return []
    return select.select(socks, [], [])[0]
