"""Reverse connect (docs/protocol.md section 11): the agent dials a hub (`longreach listen`) instead of listening.

On every connection the hub proves first that it knows the secret (its HMAC over the agent's fresh nonce); an agent
that gets a wrong proof closes without having said anything about itself, not even its pid. Then the agent proves
it knows the secret too and serves the connection exactly as it serves an authenticated client (server.Server.adopt).
One control connection stays open; on it the hub lists the process and asks, with `longreach/openSession`, for a
fresh session connection per client.

One daemon agent thread dials, with bounded jittered backoff, for as long as the program runs; it opens no
listening socket, never writes to the program's streams, and logs (opt-in, LONGREACH_LOG=agent,auth) why a hub
could not be used. Mechanism and policy of the wire only: the debugging session comes from the server's factory.
"""

import base64
import binascii
import hashlib
import hmac
import os
import random
import re
import socket
import ssl
import threading
import time

from longreach import log, processinfo
from longreach._threads import start_agent_thread
from longreach.errors import LongreachError
from longreach.wire import framing
from longreach.wire.connection import format_peer

__all__ = ["Dialer", "client_tls_context", "parse_fingerprint", "hub_proof"]

_log = log.get_logger("agent")
_auth_log = log.get_logger("auth")
_wire_log = log.get_logger("wire")

HANDSHAKE_TIMEOUT = 10.0
MAX_SESSIONS = 8
_HUB_LABEL = b"longreach-hub-v1 hub\x00"
_AGENT_LABEL = b"longreach-hub-v1 agent\x00"
_HEX64 = re.compile(r"\A[0-9a-f]{64}\Z")
_TICKET = re.compile(r"\A[A-Za-z0-9_-]{16,64}\Z")
_FINGERPRINT = re.compile(r"\A(?:sha-?256:)?([0-9a-fA-F]{64}|[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){31})\Z", re.I)


class HubRefused(Exception):
    """The hub did not prove it knows the secret, refused ours, or is not the pinned one: retried slowly."""


def hub_proof(secret, role, agent_nonce, hub_nonce):
    """HMAC-SHA256(secret, "longreach-hub-v1 <role>" 0x00 agentNonce hubNonce), lowercase hex."""
    label = _HUB_LABEL if role == "hub" else _AGENT_LABEL
    return hmac.new(secret.encode("utf-8"), label + agent_nonce + hub_nonce, hashlib.sha256).hexdigest()


def parse_fingerprint(text):
    """sha256:HEX (colons optional, any case) -> 64 lowercase hex digits, or LongreachError(LR_BAD_OPTION)."""
    match = _FINGERPRINT.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise LongreachError("LR_BAD_OPTION", "fingerprint must be sha256: followed by 64 hex digits, colons "
                             "optional (as `longreach listen` prints it), got %r" % (text,))
    return match.group(1).replace(":", "").lower()


def client_tls_context(ca=None):
    """A client-side context (TLS 1.2 or newer). With `ca` the chain and the host name are checked; without it
    (a pinned fingerprint alone) the dialer compares the certificate's DER SHA-256 itself."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca is None:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        context.load_verify_locations(cafile=ca)
    except (ssl.SSLError, OSError, ValueError) as err:
        raise LongreachError("LR_CERT", "cannot use ca %r: %s (it must be a readable PEM certificate file)" % (
            ca, getattr(err, "strerror", None) or err))
    return context


class Dialer(object):
    def __init__(self, server, host, port, secret, tls=None, ca=None, fingerprint=None, min_delay=0.25,
                 max_delay=5.0, refused_delay=30.0):
        self.server = server
        self.host = host
        self.port = port
        self.hub = format_peer((host, port))
        self._secret = secret
        self._tls = tls                       # an ssl.SSLContext (client side), or None for plain TCP
        self._check_hostname = ca is not None
        self._fingerprint = fingerprint       # 64 lowercase hex digits, or None
        self.min_delay, self.max_delay, self.refused_delay = min_delay, max_delay, refused_delay
        self._closing = threading.Event()
        self._control_closed = threading.Event()
        self._control = None
        self._lock = threading.Lock()
        self._sessions = 0
        self.thread = None

    def start(self):
        self.thread = start_agent_thread(self._run, "longreach-dial")

    @property
    def connected(self):
        return self._control is not None

    def close(self):
        """Stop dialing and close the control connection (sessions are closed by the server). Never raises."""
        self._closing.set()
        self._control_closed.set()
        control = self._control
        if control is not None:
            control.abort()

    def after_fork_in_child(self):
        """The dialing thread does not exist in a forked child; the server forgets the inherited connections."""
        self._closing.set()
        self._control = None

    # ---- the dialing thread -------------------------------------------------------------------------------------
    def _run(self):
        delay = self.min_delay
        while not self._closing.is_set():
            try:
                self._control_closed.clear()
                conn = self._dial("control")
            except HubRefused as err:
                _auth_log.warning("hub %s refused: %s; retrying in about %g s", self.hub, err, self.refused_delay)
                self._pause(self.refused_delay)
                continue
            except (OSError, ValueError, LongreachError) as err:
                _log.info("cannot use the hub %s: %s; retrying in about %.2f s", self.hub, _reason(err), delay)
                self._pause(delay)
                delay = min(delay * 2, self.max_delay)
                continue
            _log.info("connected to the hub %s", self.hub)
            self._control = conn
            delay = self.min_delay
            self._control_closed.wait()
            self._control = None
            if not self._closing.is_set():
                _log.info("connection to the hub %s closed; dialing again", self.hub)
                self._pause(delay)
                delay = min(delay * 2, self.max_delay)

    def _pause(self, seconds):
        self._closing.wait(seconds * (0.5 + random.random() / 2))

    def _on_control_closed(self, conn):
        self._control_closed.set()

    def _open_session(self, conn, args):
        """`longreach/openSession {ticket, client}` on the control connection: dial a session connection."""
        ticket, client = args.get("ticket"), args.get("client")
        if not isinstance(ticket, str) or _TICKET.match(ticket) is None:
            raise LongreachError("LR_BAD_REQUEST", "longreach/openSession needs a \"ticket\" of 16-64 URL-safe "
                                 "base64 characters")
        with self._lock:
            if self._sessions >= MAX_SESSIONS:
                raise LongreachError("LR_BAD_REQUEST", "this agent already has %d sessions through the hub open; "
                                     "close one first" % MAX_SESSIONS)
            self._sessions += 1
        client = client[:200] if isinstance(client, str) else None
        try:
            start_agent_thread(self._dial_session, "longreach-dial-session", (ticket, client))
        except Exception:
            self._session_done(None)
            raise
        return {}

    def _dial_session(self, ticket, client):
        try:
            self._dial("session", ticket, client, on_closed=self._session_done)
        except HubRefused as err:
            _auth_log.warning("session connection to the hub %s refused: %s", self.hub, err)
            self._session_done(None)
        except (OSError, ValueError, LongreachError) as err:
            _log.info("session connection to the hub %s failed: %s", self.hub, _reason(err))
            self._session_done(None)

    def _session_done(self, conn):
        with self._lock:
            self._sessions -= 1

    # ---- one connection -----------------------------------------------------------------------------------------
    def _dial(self, role, ticket=None, client=None, on_closed=None):
        """Connect, (TLS), run the handshake; returns the Connection the server now serves."""
        sock = socket.create_connection((self.host, self.port), timeout=HANDSHAKE_TIMEOUT)
        try:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            except OSError:
                pass
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self.host if self._check_hostname else None)
                self._check_pin(sock)
            self._handshake(sock, role, ticket)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        if role == "control":
            return self.server.adopt(sock, (self.host, self.port), is_tls=self._tls is not None,
                                     handlers={"longreach/openSession": self._open_session},
                                     on_closed=self._on_control_closed, seq=2)
        peer = "%s via %s" % (client, self.hub) if client else None
        return self.server.adopt(sock, (self.host, self.port), is_tls=self._tls is not None, peer=peer,
                                 on_closed=on_closed, seq=2)

    def _check_pin(self, sock):
        if self._fingerprint is None:
            return
        der = sock.getpeercert(binary_form=True) or b""
        presented = hashlib.sha256(der).hexdigest()
        if not hmac.compare_digest(presented.encode("ascii"), self._fingerprint.encode("ascii")):
            raise HubRefused("the hub's certificate is not the pinned one (it presented sha256:%s)" % presented)

    def _handshake(self, sock, role, ticket):
        deadline = time.monotonic() + HANDSHAKE_TIMEOUT
        agent_nonce = os.urandom(32)
        _send(sock, {"seq": 1, "type": "request", "command": "longreach/agentHello",
                     "arguments": {"longreachProtocol": processinfo.PROTOCOL,
                                   "nonce": base64.b64encode(agent_nonce).decode("ascii")}})
        body = _expect_success(_read_frame(sock, deadline), "longreach/agentHello")
        hub_nonce = _decode_nonce(body.get("nonce"))
        proof = body.get("proof")
        expected = hub_proof(self._secret, "hub", agent_nonce, hub_nonce) if hub_nonce else ""
        if not (hub_nonce and isinstance(proof, str) and _HEX64.match(proof)
                and hmac.compare_digest(expected.encode("ascii"), proof.encode("ascii"))):
            # say nothing more: a hub that does not know the secret learns nothing about this process
            raise HubRefused("the hub does not know the secret (its proof did not match)")
        args = {"proof": hub_proof(self._secret, "agent", agent_nonce, hub_nonce), "role": role}
        if ticket is not None:
            args["ticket"] = ticket
        _send(sock, {"seq": 2, "type": "request", "command": "longreach/agentAuth", "arguments": args})
        _expect_success(_read_frame(sock, deadline), "longreach/agentAuth")


def _send(sock, message):
    if _wire_log.isEnabledFor(10):
        _wire_log.debug("-> hub %r", log.redact(message))
    sock.sendall(framing.encode(message, framing.PRE_AUTH_BODY_LIMIT))


def _recv(sock, size, deadline):
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise LongreachError("LR_TIMEOUT", "the hub did not finish the handshake within %g s" % HANDSHAKE_TIMEOUT)
    sock.settimeout(remaining)
    return sock.recv(size)


def _read_frame(sock, deadline):
    """Exactly one frame, byte for byte (whatever follows it belongs to the Connection that takes the socket), all
    of it before `deadline` (a hub that trickles bytes cannot hold the dialing thread)."""
    header = bytearray()
    while not header.endswith(b"\r\n\r\n"):
        if len(header) > framing.HEADER_LIMIT:
            raise LongreachError("LR_BAD_FRAME", "the hub sent a frame header longer than %d bytes"
                                 % framing.HEADER_LIMIT)
        byte = _recv(sock, 1, deadline)
        if not byte:
            raise LongreachError("LR_CLOSED", "the hub closed the connection during the handshake (a hub that "
                                 "serves TLS needs --fingerprint or --ca here)")
        header += byte
    decoder = framing.FrameDecoder()
    messages = list(decoder.feed(bytes(header)))
    match = re.search(br"content-length: *([0-9]{1,15})", bytes(header), re.I)
    length = int(match.group(1)) if match else 0
    if length > framing.PRE_AUTH_BODY_LIMIT:
        raise LongreachError("LR_FRAME_TOO_LARGE", "the hub announced a %d-byte frame during the handshake" % length)
    body = bytearray()
    while len(body) < length:
        chunk = _recv(sock, length - len(body), deadline)
        if not chunk:
            raise LongreachError("LR_CLOSED", "the hub closed the connection during the handshake")
        body += chunk
    messages += list(decoder.feed(bytes(body)))
    if len(messages) != 1:
        raise LongreachError("LR_BAD_FRAME", "the hub sent a malformed frame during the handshake")
    if _wire_log.isEnabledFor(10):
        _wire_log.debug("<- hub %r", log.redact(messages[0]))
    return messages[0]


def _expect_success(message, command):
    if message.get("type") != "response" or message.get("command") not in (command, None):
        raise HubRefused("the hub answered %s with something other than its response" % command)
    if message.get("success") is not True:
        raise HubRefused("the hub refused %s (%s)" % (command, str(message.get("message"))[:60]))
    body = message.get("body")
    return body if isinstance(body, dict) else {}


def _decode_nonce(value):
    if not isinstance(value, str):
        return None
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None
    return raw if 16 <= len(raw) <= 64 else None


def _reason(err):
    if isinstance(err, LongreachError):
        return "%s %s" % (err.code, err.message)
    return getattr(err, "strerror", None) or str(err) or type(err).__name__


def start_connect(secret, connect, ca=None, fingerprint=None, **server_options):
    """Validate the reverse-connect options (with their names in the messages), then make a Server that never
    listens and a Dialer that serves it through the hub. Returns the server (server.dialer is the dialer)."""
    from longreach.wire.server import Server
    host, port = _check_hub(connect)
    if secret is None:
        raise LongreachError("LR_BAD_OPTION", "connect needs a secret: the hub must prove that it knows it before "
                             "the agent says anything")
    if ca is not None and not isinstance(ca, str):
        try:
            ca = os.fsdecode(os.fspath(ca))
        except TypeError:
            raise LongreachError("LR_BAD_OPTION", "ca must be the path of a PEM file, got %s" % type(ca).__name__)
    if ca is not None and not os.path.isfile(ca):
        raise LongreachError("LR_CERT", "ca %r is not a readable file (give the hub's cert.pem, or pin its "
                             "fingerprint instead)" % (ca,))
    pin = parse_fingerprint(fingerprint) if fingerprint is not None else None
    tls = client_tls_context(ca) if (ca is not None or pin is not None) else None
    server = Server(secret, host=host, port=port, **server_options)
    server.dialer = Dialer(server, host, port, secret, tls=tls, ca=ca, fingerprint=pin)
    server.dialer.start()
    return server


def _check_hub(connect):
    if isinstance(connect, str):
        match = re.match(r"\A(?:\[([^\]]+)\]|([^:\[\]]+)):([0-9]{1,5})\Z", connect.strip())
        if match is None:
            raise LongreachError("LR_BAD_OPTION", "connect must be 'HOST:PORT' of the hub (e.g. "
                                 "'bastion.example.com:5678' or '[::1]:5678'), got %r" % (connect,))
        connect = (match.group(1) or match.group(2), int(match.group(3)))
    if not isinstance(connect, (tuple, list)) or len(connect) != 2:
        raise LongreachError("LR_BAD_OPTION", "connect must be the hub's (host, port), such as "
                             "('bastion.example.com', 5678), got %r" % (connect,))
    host, port = connect
    if not isinstance(host, str) or not host:
        raise LongreachError("LR_BAD_OPTION", "connect host must be a non-empty string, got %r" % (host,))
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise LongreachError("LR_BAD_OPTION", "connect port must be an integer from 1 to 65535, got %r" % (port,))
    return host, port
