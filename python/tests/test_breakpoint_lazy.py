"""PYTHONBREAKPOINT=longreach.breakpoint in a program with no agent: the agent starts at the first breakpoint() from
the LONGREACH_* settings (nothing loaded or listening before), then behaves as with any agent; each bad setting is
one line on stderr naming the variable and breakpoint() does nothing. Real child processes on every interpreter."""

import socket

from .breakpoint_support import BP_LINE, ProgramCase, connect, free_port, held_port, wait_until
from .support import WithCertificate

SECRET = "s3cret-for-tests"

# Says whether the agent is loaded or listening before breakpoint(), calls it `times` times, then whether anything
# listens after.
LAZY = """
import os
import sys
port = int(os.environ["TEST_PORT"])
print("before:", "longreach" in sys.modules, probe(port), flush=True)
for _ in range(int(os.environ.get("TEST_TIMES", "1"))):
    main()
print("afterwards:", probe(port), flush=True)
"""


class LazyStart(WithCertificate, ProgramCase):
    def start(self, env, times=1):
        port = held_port(self)
        full = {"PYTHONBREAKPOINT": "longreach.breakpoint", "TEST_PORT": str(port), "TEST_TIMES": str(times)}
        full.update(env)
        full = dict((k, v.replace("PORT", str(port))) for k, v in full.items())
        path = self.program(LAZY)
        child = self.run_program(path, full)
        return path, child, port

    def test_listen_starts_at_the_first_breakpoint_and_waits_there(self):
        path, child, port = self.start({"LONGREACH_LISTEN": "127.0.0.1:PORT",
                                         "LONGREACH_SECRET_FILE": self.secret_file()}, times=2)
        self.assertEqual(child.line(), "before: False nothing")
        for _ in range(2):  # after a detach the agent stays; the next breakpoint() waits again
            waiting = self.wait_listed_waiting(port, SECRET)
            self.assertEqual(waiting["line"], BP_LINE)
            client = self.attach(port, SECRET)
            self.assert_stopped_at(client, path, BP_LINE)
            self.assertTrue(client.request("disconnect", {})["success"])
            self.assertEqual(child.line(), "after 42")
        self.assertEqual(child.line(), "afterwards: listening")
        self.assertEqual(child.wait(), 0, child.stderr())
        self.assertEqual(child.stderr(), "")

    def test_secret_from_the_environment_and_tls(self):
        path, child, port = self.start({"LONGREACH_LISTEN": "PORT", "LONGREACH_SECRET": SECRET,
                                         "LONGREACH_CERTFILE": self.cert.certfile,
                                         "LONGREACH_KEYFILE": self.cert.keyfile})
        self.assertEqual(child.line(), "before: False nothing")
        tls = self.cert.client_context()
        self.assertEqual(self.wait_listed_waiting(port, SECRET, tls)["line"], BP_LINE)
        client = self.attach(port, SECRET, tls)
        self.assert_stopped_at(client, path, BP_LINE)
        self.assertTrue(client.request("disconnect", {})["success"])
        self.assertEqual(self.finish(child, "afterwards: listening"), "")

    def test_no_secret_on_loopback(self):
        path, child, port = self.start({"LONGREACH_LISTEN": "127.0.0.1:PORT", "LONGREACH_NO_SECRET": "1"})
        self.assertEqual(self.wait_listed_waiting(port)["line"], BP_LINE)
        client = self.attach(port)
        self.assert_stopped_at(client, path, BP_LINE)
        self.assertTrue(client.request("disconnect", {})["success"])
        self.assertEqual(self.finish(child), "")

    def test_breakpoint_wait_elapses(self):
        path, child, port = self.start({"LONGREACH_LISTEN": "127.0.0.1:PORT",
                                         "LONGREACH_SECRET_FILE": self.secret_file(),
                                         "LONGREACH_BREAKPOINT_WAIT": "3"})
        self.assertEqual(self.wait_listed_waiting(port, SECRET)["line"], BP_LINE)
        self.assertEqual(self.finish(child, "afterwards: listening"), "")

    def test_pythonbreakpoint_0_loads_and_starts_nothing(self):
        path, child, port = self.start({"PYTHONBREAKPOINT": "0", "LONGREACH_LISTEN": "127.0.0.1:PORT",
                                         "LONGREACH_SECRET_FILE": self.secret_file()})
        self.assertEqual(child.line(), "before: False nothing")
        self.assertEqual(child.line(), "after 42")
        self.assertEqual(child.line(), "afterwards: nothing")
        self.assertEqual(child.wait(), 0)
        self.assertEqual(child.stderr(), "")


    def test_a_forked_child_waits_in_the_parents_job_at_its_breakpoint(self):
        # The agent breakpoint() started follows the processes this one starts (a job, docs/protocol.md 5.3): a
        # forked child's breakpoint() waits too, listed by the parent's address, and is attached there with
        # longreach/selectProcess; it never listens itself.
        port = free_port()
        fork = """
import os
import warnings
warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork() with the agent's threads running
main()
pid = os.fork()
if pid == 0:
    os.environ["LONGREACH_BREAKPOINT_WAIT"] = ""
    main()
    os._exit(0)
print("child status", os.waitpid(pid, 0)[1], flush=True)
"""
        path = self.program(fork)
        child = self.run_program(path, {"PYTHONBREAKPOINT": "longreach.breakpoint", "TEST_PORT": "0",
                                        "LONGREACH_LISTEN": "127.0.0.1:%d" % port, "LONGREACH_NO_SECRET": "1",
                                        "LONGREACH_BREAKPOINT_WAIT": "0"})
        self.assertEqual(child.line(), "after 42")  # the parent's agent started, and did not wait (0)
        found = []

        def child_waiting():
            rows = self.info(port).get("processes") or []
            found[:] = [r for r in rows if r["pid"] != child.proc.pid and r.get("waiting")]
            return bool(found)

        wait_until(child_waiting, timeout=20, what="the forked child to be listed as waiting by its parent")
        row = found[0]
        self.assertEqual(row["ppid"], child.proc.pid)
        self.assertEqual(row["waiting"]["line"], BP_LINE)
        client = connect(port)
        self.addCleanup(client.close)
        client.initialize()
        self.assertTrue(client.request("longreach/selectProcess", {"pid": row["pid"]})["success"])
        self.assertTrue(client.request("attach", {"redirectOutput": False})["success"])
        self.assertTrue(client.request("configurationDone")["success"])
        self.assert_stopped_at(client, path, BP_LINE)
        self.assertTrue(client.request("disconnect", {})["success"])
        self.assertEqual(self.finish(child, "child status 0"), "")


class BadConfiguration(ProgramCase):
    """Each one: a single stderr line naming the variable, breakpoint() a no-op (twice), exit status 0."""

    def check(self, env, *wanted, **kw):
        port = kw.get("port") or held_port(self)
        full = {"PYTHONBREAKPOINT": "longreach.breakpoint", "TEST_PORT": str(port), "TEST_TIMES": "2"}
        full.update(dict((k, v.replace("PORT", str(port))) for k, v in env.items()))
        child = self.run_program(self.program(LAZY), full)
        self.assertEqual(child.line(), "before: False nothing" if not kw.get("port") else "before: False listening")
        self.assertEqual(child.line(), "after 42")
        self.assertEqual(child.line(), "after 42")
        self.assertEqual(child.line(), "afterwards: %s" % ("listening" if kw.get("port") else "nothing"))
        self.assertEqual(child.wait(), 0, child.stderr())
        err = child.stderr()
        self.assertEqual(err.count("\n"), 1, err)
        self.assertTrue(err.startswith("longreach: breakpoint() ignored: "), err)
        for text in wanted:
            self.assertIn(text, err)
        self.assertNotIn(SECRET, err)
        return err

    def test_hook_set_but_no_address(self):
        self.check({"LONGREACH_SECRET": SECRET}, "PYTHONBREAKPOINT=longreach.breakpoint needs an address",
                   "LONGREACH_LISTEN=HOST:PORT")

    def test_unreadable_secret_file(self):
        self.check({"LONGREACH_LISTEN": "127.0.0.1:PORT", "LONGREACH_SECRET_FILE": self.dir + "/missing.txt"},
                   "LONGREACH_SECRET_FILE %s/missing.txt cannot be read" % self.dir)

    def test_secret_file_that_is_a_folder(self):
        self.check({"LONGREACH_LISTEN": "127.0.0.1:PORT", "LONGREACH_SECRET_FILE": self.dir},
                   "LONGREACH_SECRET_FILE %s cannot be read" % self.dir)

    def test_empty_secret_file(self):
        self.check({"LONGREACH_LISTEN": "127.0.0.1:PORT", "LONGREACH_SECRET_FILE": self.secret_file("\n")},
                   "LONGREACH_SECRET_FILE", "is empty")

    def test_no_secret_at_all(self):
        self.check({"LONGREACH_LISTEN": "127.0.0.1:PORT"}, "no secret: set LONGREACH_SECRET_FILE")

    def test_port_in_use(self):
        busy = socket.socket()
        self.addCleanup(busy.close)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        self.check({"LONGREACH_LISTEN": "127.0.0.1:PORT", "LONGREACH_SECRET": SECRET},
                   "LONGREACH_LISTEN=127.0.0.1:%d" % port, "already in use", port=port)

    def test_never_unauthenticated_beyond_loopback(self):
        self.check({"LONGREACH_LISTEN": "0.0.0.0:PORT", "LONGREACH_NO_SECRET": "1"},
                   "LONGREACH_NO_SECRET=1 is refused with LONGREACH_LISTEN=0.0.0.0:")

    def test_secret_file_unreadable_never_falls_back_to_no_secret(self):
        self.check({"LONGREACH_LISTEN": "0.0.0.0:PORT", "LONGREACH_NO_SECRET": "1",
                    "LONGREACH_SECRET_FILE": self.dir + "/missing.txt"}, "LONGREACH_SECRET_FILE")

    def test_bad_listen_address(self):
        self.check({"LONGREACH_LISTEN": "here", "LONGREACH_SECRET": SECRET},
                   "LONGREACH_LISTEN='here' is not [HOST:]PORT")

    def test_bad_breakpoint_wait(self):
        self.check({"LONGREACH_LISTEN": "127.0.0.1:PORT", "LONGREACH_SECRET": SECRET,
                    "LONGREACH_BREAKPOINT_WAIT": "-1"}, "LONGREACH_BREAKPOINT_WAIT='-1'")

    def test_certfile_without_keyfile(self):
        self.check({"LONGREACH_LISTEN": "127.0.0.1:PORT", "LONGREACH_SECRET": SECRET,
                    "LONGREACH_CERTFILE": self.secret_file()}, "LONGREACH_CERTFILE is set without LONGREACH_KEYFILE")

    def test_certificate_that_is_not_one(self):
        junk = self.secret_file()
        self.check({"LONGREACH_LISTEN": "127.0.0.1:PORT", "LONGREACH_SECRET": SECRET,
                    "LONGREACH_CERTFILE": junk, "LONGREACH_KEYFILE": junk}, "LONGREACH_CERTFILE / LONGREACH_KEYFILE")

    def test_listen_and_connect_together(self):
        self.check({"LONGREACH_LISTEN": "127.0.0.1:PORT", "LONGREACH_CONNECT": "127.0.0.1:1",
                    "LONGREACH_SECRET": SECRET}, "set only one of LONGREACH_LISTEN")

    def test_connect_without_a_secret(self):
        self.check({"LONGREACH_CONNECT": "127.0.0.1:PORT", "LONGREACH_NO_SECRET": "1"},
                   "LONGREACH_CONNECT=127.0.0.1:")

    def test_connect_with_listening_tls_files(self):
        cert = self.secret_file()
        self.check({"LONGREACH_CONNECT": "127.0.0.1:PORT", "LONGREACH_SECRET": SECRET, "LONGREACH_CERTFILE": cert,
                    "LONGREACH_KEYFILE": cert}, "LONGREACH_CERTFILE / LONGREACH_KEYFILE are for listening")

    def test_connect_with_an_unreadable_ca(self):
        self.check({"LONGREACH_CONNECT": "127.0.0.1:PORT", "LONGREACH_SECRET": SECRET,
                    "LONGREACH_CA": self.dir + "/missing.pem"}, "LONGREACH_CA")

    def test_connect_with_a_malformed_fingerprint(self):
        self.check({"LONGREACH_CONNECT": "127.0.0.1:PORT", "LONGREACH_SECRET": SECRET,
                    "LONGREACH_FINGERPRINT": "sha256:nothex"}, "LONGREACH_FINGERPRINT")
