"""The LONGREACH_* environment, read as the Node agent's register hook reads it (src/agent-node/register-config.ts)."""

import json
import os
import shutil
import tempfile
import unittest

from longreach.envconfig import agent_config, breakpoint_wait, parse_address
from longreach.errors import LongreachError

SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "spec")


def vectors():
    with open(os.path.join(SPEC, "vectors", "environment.json"), encoding="utf-8") as f:
        return json.load(f)


class EnvConfig(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lr-env-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def file(self, text, name="secret"):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        return path

    def fails(self, env, text, call=agent_config):
        with self.assertRaises(LongreachError) as caught:
            call(env)
        self.assertEqual(caught.exception.code, "LR_BAD_OPTION")
        self.assertIn(text, caught.exception.message)
        return caught.exception.message

    def test_addresses(self):
        self.assertEqual(parse_address("LONGREACH_LISTEN", "5678"), ("127.0.0.1", 5678))
        self.assertEqual(parse_address("LONGREACH_LISTEN", ":5678"), ("127.0.0.1", 5678))
        self.assertEqual(parse_address("LONGREACH_LISTEN", "0.0.0.0:0"), ("0.0.0.0", 0))
        self.assertEqual(parse_address("LONGREACH_LISTEN", "[::1]:5678"), ("::1", 5678))
        self.assertEqual(parse_address("LONGREACH_LISTEN", "gpu-vm-1:5678"), ("gpu-vm-1", 5678))
        for bad in ("", "host", "::1:5678", "host:port", "1.2.3.4:-1"):
            self.fails({}, "LONGREACH_LISTEN=%r is not [HOST:]PORT" % bad, lambda env: parse_address(
                "LONGREACH_LISTEN", bad))
        self.fails({}, "LONGREACH_CONNECT port 70000 is out of range", lambda env: parse_address(
            "LONGREACH_CONNECT", "h:70000"))

    def test_listen_or_connect(self):
        config = agent_config({"LONGREACH_LISTEN": " 0.0.0.0:5678 ", "LONGREACH_SECRET": "s"})
        self.assertEqual((config.mode, config.address, config.secret), ("listen", ("0.0.0.0", 5678), "s"))
        config = agent_config({"LONGREACH_CONNECT": "hub:7000", "LONGREACH_SECRET": "s"})
        self.assertEqual((config.mode, config.address), ("connect", ("hub", 7000)))
        self.fails({"LONGREACH_SECRET": "s"}, "the agent needs an address: set LONGREACH_LISTEN")
        self.fails({"LONGREACH_LISTEN": "1", "LONGREACH_CONNECT": "h:1", "LONGREACH_SECRET": "s"}, "only one of")

    def test_secret_file_first_line_wins_over_the_variable(self):
        env = {"LONGREACH_LISTEN": "5678", "LONGREACH_SECRET_FILE": self.file("from-file\r\nsecond\n"),
               "LONGREACH_SECRET": "from-env"}
        self.assertEqual(agent_config(env).secret, "from-file")
        env["LONGREACH_SECRET_FILE"] = self.file("only line")
        self.assertEqual(agent_config(env).secret, "only line")
        env["LONGREACH_SECRET_FILE"] = self.file("\nsecond\n")
        self.fails(env, "is empty; write the secret on its first line")
        env["LONGREACH_SECRET_FILE"] = self.file("")
        self.fails(env, "is empty")
        with open(os.path.join(self.dir, "latin1"), "wb") as f:
            f.write(b"caf\xe9\n")
        env["LONGREACH_SECRET_FILE"] = os.path.join(self.dir, "latin1")
        self.fails(env, "is not UTF-8 text")

    def test_no_secret_only_on_loopback(self):
        for host in ("127.0.0.1", "[::1]", "localhost", "127.0.0.2"):
            config = agent_config({"LONGREACH_LISTEN": host + ":5678", "LONGREACH_NO_SECRET": "1"})
            self.assertIsNone(config.secret)
        for host in ("0.0.0.0", "[::]", "10.0.0.7", "gpu-vm-1"):
            self.fails({"LONGREACH_LISTEN": host + ":5678", "LONGREACH_NO_SECRET": "1"},
                       "LONGREACH_NO_SECRET=1 is refused")
        self.fails({"LONGREACH_LISTEN": "5678", "LONGREACH_NO_SECRET": "yes"}, "no secret: set")

    def test_tls_files(self):
        cert, key = self.file("c", "cert.pem"), self.file("k", "key.pem")
        env = {"LONGREACH_LISTEN": "5678", "LONGREACH_SECRET": "zq-secret-zq", "LONGREACH_CERTFILE": cert,
               "LONGREACH_KEYFILE": key}
        config = agent_config(env)
        self.assertEqual((config.certfile, config.keyfile), (cert, key))
        self.assertEqual(repr(config), "AgentConfig(listen 127.0.0.1:5678, secret, tls)")
        self.fails(dict(env, LONGREACH_CERTFILE=""), "LONGREACH_KEYFILE is set without LONGREACH_CERTFILE")
        self.fails(dict(env, LONGREACH_KEYFILE=self.dir + "/nope"), "LONGREACH_KEYFILE %s/nope is not a readable "
                   "file" % self.dir)

    def test_shared_vectors_read_as_the_node_agent_reads_them(self):
        spec = vectors()
        for case in spec["listen"]:
            env = {"LONGREACH_LISTEN": case["value"], "LONGREACH_SECRET": "s"}
            if case.get("error"):
                self.fails(env, "LONGREACH_LISTEN")
            else:
                self.assertEqual(agent_config(env).address, (case["host"], case["port"]), case)
        for case in spec["secretFile"]:
            env = {"LONGREACH_LISTEN": "5678", "LONGREACH_SECRET_FILE": self.file(case["content"])}
            if case.get("error"):
                self.fails(env, "LONGREACH_SECRET_FILE")
            else:
                self.assertEqual(agent_config(env).secret, case["secret"], case)

    def test_breakpoint_wait(self):
        self.assertIsNone(breakpoint_wait({}))
        self.assertIsNone(breakpoint_wait({"LONGREACH_BREAKPOINT_WAIT": " "}))
        self.assertEqual(breakpoint_wait({"LONGREACH_BREAKPOINT_WAIT": "0"}), 0)
        self.assertEqual(breakpoint_wait({"LONGREACH_BREAKPOINT_WAIT": "2.5"}), 2.5)
        self.assertEqual(breakpoint_wait({"LONGREACH_BREAKPOINT_WAIT": "30s"}), 30)
        for bad in ("-1", "soon", "1e3", "inf"):
            self.fails({"LONGREACH_BREAKPOINT_WAIT": bad}, "LONGREACH_BREAKPOINT_WAIT=%r is not a number of seconds"
                       % bad, breakpoint_wait)


if __name__ == "__main__":
    unittest.main()
