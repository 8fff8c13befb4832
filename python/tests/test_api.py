"""enable_attach / wait_for_attach / is_attached / break_into_debugger, each in a real child process."""

import json
import os
import shutil
import socket
import tempfile
import time
import unittest

from .support import Client, WithCertificate, error_code
from .support.child import Child

WARNING = ("longreach: WARNING: debug server on 0.0.0.0:%d accepts anyone without a secret; anyone who can reach "
           "this port can run code in this process\n")


class EnableAttachErrors(WithCertificate, unittest.TestCase):
    def test_errors(self):
        garbage = os.path.join(self.cert.dir, "garbage.pem")
        with open(garbage, "w") as f:
            f.write("not a certificate\n")
        busy = socket.socket()
        self.addCleanup(busy.close)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        child = Child("""
            import json, sys, threading, longreach
            from longreach import LongreachError
            cert, key, garbage, busy = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
            def code(**kw):
                kw.setdefault("secret", "s")
                kw.setdefault("address", ("127.0.0.1", 0))
                try:
                    longreach.enable_attach(**kw)
                except LongreachError as err:
                    return [err.code, err.message]
                return None
            out = {
                "secret_int": code(secret=123),
                "secret_bytes": code(secret=b"x"),
                "secret_empty": code(secret=""),
                "address_str": code(address="127.0.0.1:5678"),
                "address_triple": code(address=("127.0.0.1", 1, 2)),
                "port_big": code(address=("127.0.0.1", 70000)),
                "port_str": code(address=("127.0.0.1", "80")),
                "host_bad": code(address=("no-such-host.invalid", 0)),
                "cert_no_key": code(certfile=cert),
                "key_no_cert": code(keyfile=key),
                "cert_missing": code(certfile=cert + ".missing", keyfile=key),
                "cert_garbage": code(certfile=garbage, keyfile=key),
                "redirect_bad": code(redirect_output="yes"),
                "plain_bad": code(allow_plain_secret=1),
                "in_use": code(address=("127.0.0.1", busy)),
                "wait_before_enable": None,
            }
            try:
                longreach.wait_for_attach(0)
            except LongreachError as err:
                out["wait_before_enable"] = [err.code, err.message]
            out["threads_after_failures"] = threading.active_count()
            out["ok"] = list(longreach.enable_attach("s", ("127.0.0.1", 0), certfile=cert, keyfile=key))
            out["again"] = code()
            out["wait_bad"] = None
            try:
                longreach.wait_for_attach(-1)
            except LongreachError as err:
                out["wait_bad"] = err.code
            out["wait_timeout"] = longreach.wait_for_attach(0.05)
            out["attached"] = longreach.is_attached()
            print(json.dumps(out))
            """, args=[self.cert.certfile, self.cert.keyfile, garbage, str(busy.getsockname()[1])])
        out = json.loads(child.line())
        self.assertEqual(child.wait(), 0)
        self.assertEqual(child.stderr(), "")
        codes = dict((k, v[0] if isinstance(v, list) else v) for k, v in out.items())
        for key in ("secret_int", "secret_bytes", "secret_empty", "address_str", "address_triple", "port_big",
                    "port_str", "host_bad", "redirect_bad", "plain_bad"):
            self.assertEqual(codes[key], "LR_BAD_OPTION", key)
        for key in ("cert_no_key", "key_no_cert", "cert_missing", "cert_garbage"):
            self.assertEqual(codes[key], "LR_CERT", key)
        self.assertEqual(codes["in_use"], "LR_ADDRESS_IN_USE")
        self.assertIn("127.0.0.1:%d is already in use" % busy.getsockname()[1], out["in_use"][1])
        self.assertEqual(codes["wait_before_enable"], "LR_BAD_REQUEST")
        self.assertEqual(out["threads_after_failures"], 1)
        self.assertEqual(out["ok"][0], "127.0.0.1")
        self.assertGreater(out["ok"][1], 0)
        self.assertEqual(codes["again"], "LR_ALREADY_ENABLED")
        self.assertIn("127.0.0.1:%d" % out["ok"][1], out["again"][1])
        self.assertEqual(out["wait_bad"], "LR_BAD_OPTION")
        self.assertIs(out["wait_timeout"], False)
        self.assertIs(out["attached"], False)
        self.assertIn("secret must be a string", out["secret_int"][1])


class NoSecretWarning(unittest.TestCase):
    def run_child(self, secret, host):
        child = Child("""
            import sys, longreach
            host, port = longreach.enable_attach(%r, (%r, 0))
            sys.stdout.write("%%d\\n" %% port)
            """ % (secret, host))
        port = int(child.line())
        self.assertEqual(child.wait(), 0)
        self.assertEqual(child.rest_of_stdout(), "")
        return port, child.stderr()

    def test_warning_on_non_loopback(self):
        port, err = self.run_child(None, "0.0.0.0")
        self.assertEqual(err, WARNING % port)

    def test_no_warning_on_loopback_or_with_secret(self):
        self.assertEqual(self.run_child(None, "127.0.0.1")[1], "")
        self.assertEqual(self.run_child("s", "0.0.0.0")[1], "")


class AttachFlow(unittest.TestCase):
    def test_wait_attach_break_detach_exit_code(self):
        child = Child("""
            import sys, longreach
            from longreach import api
            host, port = longreach.enable_attach("s3cret", ("127.0.0.1", 0))
            print(port)
            print(longreach.wait_for_attach(0.05))
            longreach.break_into_debugger()  # nobody attached: no-op
            print(longreach.wait_for_attach(20), longreach.is_attached())
            def here():
                longreach.break_into_debugger()
            here()
            print(api._server.current_session().calls[-1])
            sys.stdin.readline()
            print(longreach.is_attached())
            sys.exit(3)
            """, fake_session=True)
        port = int(child.line())
        self.assertEqual(child.line(), "False")
        client = Client(port)
        self.addCleanup(client.close)
        self.assertTrue(client.authenticate("s3cret")["success"])
        self.assertTrue(client.request("attach", {})["success"])
        self.assertTrue(client.request("configurationDone")["success"])
        self.assertEqual(child.line(), "True True")
        self.assertEqual(child.line(), "('break_into', 'here')")
        self.assertTrue(client.request("disconnect")["success"])
        client.expect_closed()
        child.send("go")
        self.assertEqual(child.line(), "False")
        self.assertEqual(child.wait(), 3)
        self.assertEqual(child.stderr(), "")

    def test_exit_while_attached_does_not_hang(self):
        child = Child("""
            import longreach
            host, port = longreach.enable_attach("s3cret", ("127.0.0.1", 0))
            print(port)
            print(longreach.wait_for_attach(20))
            """, fake_session=True)
        port = int(child.line())
        client = Client(port, timeout=20)
        self.addCleanup(client.close)
        client.authenticate("s3cret")
        client.request("attach", {})
        client.request("configurationDone")
        self.assertEqual(child.line(), "True")
        self.assertEqual(child.wait(), 0)
        self.assertEqual(child.stderr(), "")
        client.expect_closed()

    def test_exit_while_listening_with_idle_connection(self):
        child = Child("""
            import longreach
            host, port = longreach.enable_attach("s3cret", ("127.0.0.1", 0))
            print(port)
            input()
            raise SystemExit(7)
            """)
        port = int(child.line())
        idle = socket.create_connection(("127.0.0.1", port))
        self.addCleanup(idle.close)
        child.send("")
        self.assertEqual(child.wait(), 7)
        self.assertEqual(child.stderr(), "")


@unittest.skipUnless(hasattr(os, "fork"), "needs os.fork")
class Fork(unittest.TestCase):
    def test_forked_child_has_no_server_and_parent_keeps_serving(self):
        self.check_fork(False, 0)

    def test_forked_child_of_a_job_joins_it_with_a_fresh_agent_and_may_listen_itself(self):
        self.check_fork(True, 0)

    def check_fork(self, subprocess, threads):
        child = Child("""
            import os, sys, warnings, longreach
            warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork() with threads running
            host, port = longreach.enable_attach("s3cret", ("127.0.0.1", 0), subprocess=%r)
            print(port)
            sys.stdin.readline()
            pid = os.fork()
            if pid == 0:
                from longreach import api
                from longreach._threads import AGENT_THREAD_IDS
                # no agent thread at all: alone, there is no agent; in a job nobody has asked for, the child
                # waits for the job's wake signal (job/wakeup.py) unless the program calls the agent first
                # (is_attached() here), which joins at once
                ok = len(AGENT_THREAD_IDS) == %d and not longreach.is_attached()
                ok = ok and getattr(api._server, "job_member", False) == %r
                host2, port2 = longreach.enable_attach("other", ("127.0.0.1", 0))
                ok = ok and port2 != port
                os._exit(0 if ok else 1)
            _, status = os.waitpid(pid, 0)
            print("grandchild", os.WEXITSTATUS(status), longreach.is_attached())
            sys.stdin.readline()
            """ % (subprocess, threads, subprocess), fake_session=True)
        port = int(child.line())
        client = Client(port)
        self.addCleanup(client.close)
        client.authenticate("s3cret")
        if subprocess:  # the root alone: a client attached to the whole job would debug the forked child too
            self.assertTrue(client.request("longreach/selectProcess", {"pid": child.proc.pid})["success"])
        self.assertTrue(client.request("attach", {})["success"])
        child.send("fork")
        self.assertEqual(child.line(), "grandchild 0 True")
        self.assertEqual(client.request("echo", {"x": 1})["body"], {"arguments": {"x": 1}})
        lister = Client(port)
        self.addCleanup(lister.close)
        self.assertTrue(lister.authenticate("s3cret")["success"])
        child.send("done")
        self.assertEqual(child.wait(), 0)
        self.assertEqual(child.stderr(), "")


class Logging(unittest.TestCase):
    def test_log_is_opt_in_and_never_holds_secrets(self):
        tmp = tempfile.mkdtemp(prefix="longreach-log-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "agent.log")
        secret = "hunter2-\u00e9"
        child = Child("""
            import sys, longreach
            host, port = longreach.enable_attach(%r, ("127.0.0.1", 0))
            print(port)
            sys.stdin.readline()
            """ % secret, env={"LONGREACH_LOG": "all", "LONGREACH_LOG_FILE": path}, fake_session=True)
        port = int(child.line())
        bad = Client(port)
        self.assertEqual(error_code(bad.authenticate("wrong")), "LR_AUTH_FAILED")
        bad.close()
        time.sleep(0.3)  # let the 250 ms throttle window pass
        good = Client(port)
        self.addCleanup(good.close)
        reply = good.authenticate(secret)
        self.assertTrue(reply["success"])
        good.request("longreach/processInfo")
        child.send("")
        self.assertEqual(child.wait(), 0)
        self.assertEqual(child.stderr(), "")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.assertIn("failed authentication from 127.0.0.1", text)
        self.assertIn("<- 127.0.0.1", text)
        self.assertIn("'proof': '***'", text)
        for needle in (secret, reply["_proof"], reply["body"]["serverProof"]):
            self.assertNotIn(needle, text)

    def test_no_log_file_by_default(self):
        child = Child("""
            import os, tempfile, longreach
            longreach.enable_attach("s", ("127.0.0.1", 0))
            print(os.path.exists(os.path.join(tempfile.gettempdir(), "longreach-%d.log" % os.getpid())))
            """)
        self.assertEqual(child.line(), "False")
        self.assertEqual(child.wait(), 0)


if __name__ == "__main__":
    unittest.main()
