"""Test helpers: a tiny raw-socket DAP client, a fake debug session, certificates made with openssl."""

import base64
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time

from longreach.wire import auth, framing as wire
from longreach.errors import LongreachError

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.dirname(os.path.dirname(HERE))
REPO = os.path.dirname(PYTHON_DIR)


class Client(object):
    """A blocking DAP client over a real socket. Every wait is bounded by `timeout`."""

    def __init__(self, port, host="127.0.0.1", tls=None, timeout=5.0):
        raw = socket.create_connection((host, port), timeout=timeout)
        self.sock = tls.wrap_socket(raw, server_hostname="localhost") if tls is not None else raw
        self.timeout = timeout
        self.decoder = wire.FrameDecoder(body_limit=1 << 30, authenticated=True)
        self.queue = []
        self.backlog = []
        self.seq = 0
        self.eof = False

    def send(self, message):
        self.sock.sendall(wire.encode(message))

    def send_raw(self, data):
        self.sock.sendall(data)

    def request(self, command, arguments=None, **extra):
        self.seq += 1
        message = {"seq": self.seq, "type": "request", "command": command}
        if arguments is not None:
            message["arguments"] = arguments
        message.update(extra)
        self.send(message)
        return self.expect(lambda m: m.get("type") == "response" and m.get("request_seq") == self.seq)

    def read(self):
        """The next message, or None when the server closed the connection."""
        deadline = time.monotonic() + self.timeout
        while not self.queue:
            if self.eof:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no message from the server within %.1f s" % self.timeout)
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
                data = b""
            if not data:
                self.eof = True
                continue
            self.queue.extend(self.decoder.feed(data))
        return self.queue.pop(0)

    def expect(self, predicate):
        """The first message (kept from earlier or new) that matches; others are kept for later expects."""
        for index, message in enumerate(self.backlog):
            if predicate(message):
                return self.backlog.pop(index)
        while True:
            message = self.read()
            if message is None:
                raise AssertionError("connection closed while waiting for a message; unmatched: %r" % self.backlog)
            if predicate(message):
                return message
            self.backlog.append(message)

    def event(self, name):
        return self.expect(lambda m: m.get("type") == "event" and m.get("event") == name)

    def expect_closed(self):
        """Read until EOF; returns the messages seen before it."""
        seen, self.backlog = self.backlog, []
        while True:
            message = self.read()
            if message is None:
                return seen
            seen.append(message)

    def initialize(self, **arguments):
        args = {"adapterID": "test", "clientID": "longreach-tests"}
        args.update(arguments)
        return self.request("initialize", args)

    def authenticate(self, secret, response=None):
        response = response or self.initialize()
        nonce = base64.b64decode(response["body"]["longreach"]["nonce"])
        client_nonce = os.urandom(32)
        proof = auth.client_proof(secret, nonce, client_nonce)
        reply = self.request("authenticate", {"clientNonce": auth.b64(client_nonce), "proof": proof})
        reply["_expected_server_proof"] = auth.server_proof(secret, nonce, client_nonce)
        reply["_proof"] = proof
        reply["_client_nonce"] = client_nonce
        return reply

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def error_code(response):
    assert response["success"] is False, response
    error = response["body"]["error"]
    assert response["message"] == error["code"], response
    return error["code"]


class FakeSession(object):
    """Stands in for session.DebugSession in server tests, so the gate and the policy are tested alone."""

    instances = []
    hold_close = None  # a threading.Event: close() waits for it (a detach that takes its time)
    CAPABILITIES = {"supportsConfigurationDoneRequest": True, "supportsFakeThings": True}

    def __init__(self, send, peer, options):
        self.send = send
        self.peer = peer
        self.options = options
        self.calls = []
        self.closed = 0
        self.closed_event = threading.Event()
        FakeSession.instances.append(self)

    def handle(self, command, arguments):
        self.calls.append((command, arguments))
        if command == "attach":
            if arguments.get("fail"):
                raise LongreachError("LR_BAD_REQUEST", "fake attach refused")
            return None
        if command == "configurationDone":
            self.options["on_configured"]()
            return None
        if command == "boom":
            raise ValueError("a bug in a handler")
        if command == "echo":
            return {"arguments": arguments}
        if command == "terminate":
            self.send({"type": "event", "event": "terminated"})
            return None
        if command == "big":
            return {"data": "x" * arguments["size"]}
        raise LongreachError("LR_UNSUPPORTED", "fake session does not support %r" % command)

    def started(self):
        self.send({"type": "event", "event": "initialized"})

    def close(self):
        if FakeSession.hold_close is not None:
            FakeSession.hold_close.wait(10)
        self.closed += 1
        self.closed_event.set()

    def break_into(self, frame):
        self.calls.append(("break_into", frame.f_code.co_name))


class Certificate(object):
    """A self-signed P-256 certificate for localhost/127.0.0.1 made by openssl in a temporary directory."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="longreach-cert-")
        self.certfile = os.path.join(self.dir, "cert.pem")
        self.keyfile = os.path.join(self.dir, "key.pem")
        subprocess.check_call(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", self.keyfile, "-out", self.certfile, "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def client_context(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_verify_locations(self.certfile)
        return context

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_until(predicate, timeout=5.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("timed out waiting for " + what)


class WithCertificate(object):
    """unittest mixin: one certificate (self.cert) made for the whole test class and removed after it."""

    @classmethod
    def setUpClass(cls):
        super(WithCertificate, cls).setUpClass()
        cls.cert = Certificate()

    @classmethod
    def tearDownClass(cls):
        cls.cert.cleanup()
        super(WithCertificate, cls).tearDownClass()
