"""Reverse connect (docs/protocol.md section 11), agent side, against a small hub written here on real sockets: the hub
proves the secret first, the agent says nothing to a hub that cannot, it listens on nothing, serves listing and
session connections, backs off while the hub is away, and its options are checked with their names."""

import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from longreach.wire import framing
from longreach.wire.dial import hub_proof

from .support import PYTHON_DIR
from .support.child import child_env

SPEC = os.path.join(os.path.dirname(PYTHON_DIR), "spec")
SECRET = "dial-s3cret"
LOOP = "import time\nprint('started', flush=True)\nfor i in range(%d): time.sleep(0.05)\nprint('done', flush=True)\n"


class HubSide(object):
    """The hub's end of one accepted connection: frames in and out, with bounded waits."""

    def __init__(self, sock):
        self.sock = sock
        self.sock.settimeout(15)
        self.decoder = framing.FrameDecoder(framing.DEFAULT_BODY_LIMIT, authenticated=True)
        self.pending = []
        self.seq = 0

    def read(self):
        while not self.pending:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.pending.extend(self.decoder.feed(data))
        return self.pending.pop(0)

    def send(self, message):
        self.seq += 1
        message = dict(message, seq=self.seq)
        self.sock.sendall(framing.encode(message))

    def request(self, command, arguments=None):
        self.send({"type": "request", "command": command, "arguments": arguments or {}})
        while True:
            message = self.read()
            if message is None or message.get("type") == "response":
                return message

    def handshake(self, secret=SECRET, wrong_proof=False):
        hello = self.read()
        agent_nonce = base64.b64decode(hello["arguments"]["nonce"])
        hub_nonce = os.urandom(32)
        proof = "ab" * 32 if wrong_proof else hub_proof(secret, "hub", agent_nonce, hub_nonce)
        self.send({"type": "response", "request_seq": hello["seq"], "command": hello["command"], "success": True,
                   "body": {"protocol": 1, "nonce": base64.b64encode(hub_nonce).decode(), "proof": proof}})
        if wrong_proof:
            return hello, None
        auth = self.read()
        self.send({"type": "response", "request_seq": auth["seq"], "command": auth["command"], "success": True,
                   "body": {}})
        return hello, (auth, hub_proof(secret, "agent", agent_nonce, hub_nonce))


class DialTestCase(unittest.TestCase):
    def setUp(self):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(20)
        self.addCleanup(self.listener.close)
        self.port = self.listener.getsockname()[1]

    def agent(self, ticks=400, extra=(), env=None, port=None):
        command = [sys.executable, "-m", "longreach", "--connect", "127.0.0.1:%d" % (port or self.port),
                   "--secret-env", "LR_DIAL_SECRET"] + list(extra) + ["-c", LOOP % ticks]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=child_env(dict({"LR_DIAL_SECRET": SECRET}, **(env or {}))))
        self.addCleanup(_reap, proc)
        return proc

    def accept(self):
        sock, _ = self.listener.accept()
        self.addCleanup(sock.close)
        return HubSide(sock)


class Handshake(DialTestCase):
    def test_vectors_shared_with_the_hub(self):
        with open(os.path.join(SPEC, "vectors", "hub-auth.json"), encoding="utf-8") as f:
            cases = json.load(f)["cases"]
        self.assertTrue(cases)
        for case in cases:
            a, h = base64.b64decode(case["agentNonce"]), base64.b64decode(case["hubNonce"])
            self.assertEqual(hub_proof(case["secret"], "hub", a, h), case["hubProof"])
            self.assertEqual(hub_proof(case["secret"], "agent", a, h), case["agentProof"])

    def test_the_hub_proves_first_then_lists_and_opens_a_session(self):
        proc = self.agent()
        hub = self.accept()
        hello, (auth, expected) = hub.handshake()
        self.assertEqual(hello["command"], "longreach/agentHello")
        self.assertEqual(sorted(hello["arguments"]), ["longreachProtocol", "nonce"])
        self.assertEqual(auth["command"], "longreach/agentAuth")
        self.assertEqual(auth["arguments"]["proof"], expected)
        self.assertEqual(auth["arguments"]["role"], "control")
        info = hub.request("longreach/processInfo")
        self.assertTrue(info["success"], info)
        self.assertEqual(info["body"]["pid"], proc.pid)
        if os.path.isdir("/proc/%d/fd" % proc.pid):
            self.assertEqual(_listening_ports(proc.pid), [], "the agent listens on nothing")
        ticket = "T" * 32
        opened = hub.request("longreach/openSession", {"ticket": ticket, "client": "10.0.0.9:5000"})
        self.assertTrue(opened["success"], opened)
        session = self.accept()
        _, (session_auth, _) = session.handshake()
        self.assertEqual(session_auth["arguments"]["role"], "session")
        self.assertEqual(session_auth["arguments"]["ticket"], ticket)
        init = session.request("initialize", {"adapterID": "hub", "longreachProtocol": 1})
        self.assertTrue(init["body"]["supportsConfigurationDoneRequest"])
        selected = session.request("longreach/selectProcess", {"pid": proc.pid})
        self.assertTrue(selected["success"], selected)
        bad = hub.request("longreach/openSession", {"ticket": "short"})
        self.assertEqual(bad["message"], "LR_BAD_REQUEST")
        self.assertIsNone(proc.poll(), "the program runs on")

    def test_a_hub_without_the_secret_hears_nothing_more_and_the_program_runs_on(self):
        log_file = os.path.join(tempfile.mkdtemp(prefix="longreach-dial-"), "agent.log")
        proc = self.agent(ticks=30, env={"LONGREACH_LOG": "auth", "LONGREACH_LOG_FILE": log_file})
        hub = self.accept()
        hello, _ = hub.handshake(wrong_proof=True)
        self.assertEqual(sorted(hello["arguments"]), ["longreachProtocol", "nonce"])
        self.assertIsNone(hub.read(), "the agent closed without another word")
        out, err = proc.communicate(timeout=30)
        self.assertEqual((proc.returncode, out, err), (0, b"started\ndone\n", b""))
        with open(log_file, encoding="utf-8") as f:
            text = f.read()
        self.assertIn("does not know the secret", text)
        self.assertNotIn(SECRET, text)

    def test_an_absent_hub_is_retried_and_found_when_it_comes(self):
        port = self.port
        self.listener.close()  # nobody listens: the agent backs off, the program is not held
        proc = self.agent(ticks=400, port=port)
        time.sleep(1.0)
        self.assertIsNone(proc.poll())
        self.listener = socket.socket()
        self.addCleanup(self.listener.close)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(8)
        self.listener.settimeout(15)
        started = time.monotonic()
        hub = self.accept()
        self.assertLess(time.monotonic() - started, 10.0, "the backoff is bounded")
        hub.handshake()
        self.assertEqual(hub.request("longreach/processInfo")["body"]["pid"], proc.pid)
        hub.sock.close()  # the hub goes away: the agent dials again
        again = self.accept()
        again.handshake()
        self.assertEqual(again.request("longreach/processInfo")["body"]["pid"], proc.pid)

    def test_an_unreachable_hub_does_not_hold_the_program(self):
        port = self.port
        self.listener.close()
        proc = self.agent(ticks=10, port=port)
        out, err = proc.communicate(timeout=30)
        self.assertEqual((proc.returncode, out, err), (0, b"started\ndone\n", b""))


class Options(unittest.TestCase):
    def run_child(self, *args, **kw):
        proc = subprocess.run([sys.executable] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=child_env(kw.get("env")), timeout=60)
        return proc.returncode, proc.stdout.decode(), proc.stderr.decode()

    def test_launcher_usage_errors(self):
        cases = [
            (["--connect", "5678"], "expected HOST:PORT of the hub"),
            (["--connect", "h:0"], "PORT from 1 to 65535"),
            (["--connect", "h:1", "--listen", "0"], "not both"),
            (["--listen", "0", "--fingerprint", "sha256:00"], "go with --connect"),
            (["--connect", "h:1", "--no-secret"], "--connect needs a secret"),
            (["--connect", "h:1", "--certfile", "c", "--keyfile", "k"], "with --connect the hub serves TLS"),
        ]
        for args, expected in cases:
            with self.subTest(args=args):
                rc, out, err = self.run_child("-m", "longreach", *(args + ["--secret-env", "LR_X", "x.py"]
                                                                    if "--no-secret" not in args else args + ["x.py"]),
                                              env={"LR_X": "s"})
                self.assertEqual(rc, 2, err)
                self.assertIn(expected, err.splitlines()[-1])

    def test_enable_attach_checks_connect_options_by_name(self):
        code = """if 1:
            import longreach
            for kw in [dict(connect="nohostport"), dict(connect=("h", 0)), dict(connect=("", 5)),
                       dict(connect=("h", 5), fingerprint="sha1:00"), dict(connect=("h", 5), ca="/no/such/ca.pem"),
                       dict(fingerprint="sha256:" + "0" * 64), dict(connect=("h", 5), address=("127.0.0.1", 0)),
                       dict(connect=("h", 5), certfile="c.pem", keyfile="k.pem")]:
                try:
                    longreach.enable_attach("s", **kw)
                except longreach.LongreachError as err:
                    print(err.code, err.message)
            try:
                longreach.enable_attach(None, connect=("h", 5))
            except longreach.LongreachError as err:
                print(err.code, err.message)
            print(longreach.enable_attach("s", connect="127.0.0.1:9"))
        """
        rc, out, err = self.run_child("-c", code)
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual([l.split()[0] for l in lines[:9]], ["LR_BAD_OPTION"] * 4 + ["LR_CERT"] + ["LR_BAD_OPTION"] * 4)
        self.assertIn("connect must be", lines[0])
        self.assertIn("connect port", lines[1])
        self.assertIn("connect host", lines[2])
        self.assertIn("fingerprint must be", lines[3])
        self.assertIn("ca ", lines[4])
        self.assertIn("pass connect", lines[5])
        self.assertIn("not both", lines[6])
        self.assertIn("certfile and keyfile", lines[7])
        self.assertIn("connect needs a secret", lines[8])
        self.assertEqual(lines[9], "('127.0.0.1', 9)")


def _listening_ports(pid):
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if len(cols) > 9 and cols[9] in inodes and cols[3] == "0A":
                    ports.append(int(cols[1].split(":")[1], 16))
    return ports


def _reap(proc):
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


if __name__ == "__main__":
    unittest.main()
