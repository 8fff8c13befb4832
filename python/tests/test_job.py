"""Jobs (longreach.job): what a child reads from its environment, how a process describes itself, and the gateway's
door (a private directory, the job token, bounded hellos). End-to-end job tests are in test/e2e/job-*.test.ts."""

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import types
import unittest

from longreach.errors import LongreachError
from longreach.job import config
from longreach.job import gateway as gateway_module
from longreach.job.gateway import Gateway
from longreach.job.link import Link

from .support.child import Child


class Config(unittest.TestCase):
    def test_round_trip(self):
        text = config.encode("/tmp/x/gw", "ab" * 32, 42, False)
        self.assertEqual(config.decode(text), {"v": 1, "socket": "/tmp/x/gw", "token": "ab" * 32, "root": 42,
                                               "redirect": False, "hold": 5.0})
        self.assertEqual(config.decode(config.encode("/s", "t", 1, True, 0.5))["hold"], 0.5)
        self.assertIs(config.decode(config.encode("/s", "t", 1, True, 5, signal=True))["signal"], True)
        self.assertEqual(config.attached_flag({"socket": "/tmp/x/gw"}), "/tmp/x/attached")

    def test_hold_is_bounded(self):
        self.assertEqual(config.hold_seconds({}), 5.0)
        self.assertEqual(config.hold_seconds({"LONGREACH_JOB_HOLD": "0"}), 0.0)
        self.assertEqual(config.hold_seconds({"LONGREACH_JOB_HOLD": "12.5"}), 12.5)
        for bad in ("-1", "61", "soon", "nan", ""):
            self.assertEqual(config.hold_seconds({"LONGREACH_JOB_HOLD": bad}), 5.0, bad)
        text = '{"v": 1, "socket": "s", "token": "t", "root": 1, "hold": 1e9}'
        self.assertEqual(config.decode(text)["hold"], 5.0)

    def test_missing_or_malformed_is_ignored(self):
        for text in (None, "", "not json", "[]", '{"v": 2, "socket": "s", "token": "t", "root": 1}',
                     '{"v": 1, "token": "t", "root": 1}', '{"v": 1, "socket": "s", "token": 5, "root": 1}',
                     '{"v": 1, "socket": "s", "token": "t", "root": "1"}'):
            self.assertIsNone(config.decode(text), text)


class Labels(unittest.TestCase):
    def test_labels_from_what_the_process_has(self):
        self.assertEqual(config.label({}, {}), "")
        self.assertEqual(config.label({"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}, {}), "rank 1/4")
        self.assertEqual(config.label({"RANK": "5", "WORLD_SIZE": "8", "LOCAL_RANK": "1"}, {}),
                         "rank 5/8 (local rank 1)")
        self.assertEqual(config.label({"RANK": "3"}, {}), "rank 3")
        self.assertEqual(config.label({"LOCAL_RANK": "0"}, {}), "local rank 0")
        self.assertEqual(config.label({"RANK": "x"}, {}), "")
        worker = types.ModuleType("torch.utils.data._utils.worker")
        worker._worker_info = types.SimpleNamespace(id=1, num_workers=2)
        self.assertEqual(config.label({"RANK": "0"}, {"torch.utils.data._utils.worker": worker}),
                         "DataLoader worker 1")
        worker._worker_info = None  # torch imported, but this is not a worker
        self.assertEqual(config.label({}, {"torch.utils.data._utils.worker": worker}), "")
        import multiprocessing.process
        self.assertEqual(config.label({}, {"multiprocessing.process": multiprocessing.process}), "")

    def test_an_exec_is_told_by_the_pid_the_last_program_left(self):
        # (a program that execs before it joined: the gateway cannot tell it from a new process)
        self.addCleanup(config._image.update, {"execd": False})
        me = str(os.getpid())
        for inherited, execd in ((None, False), (str(os.getpid() + 1), False), (me, True)):
            environ = {} if inherited is None else {config.IMAGE_ENV: inherited}
            config.mark_image(environ)
            self.assertEqual(environ, {config.IMAGE_ENV: me})
            self.assertEqual(config.label({}, {}), "exec'd" if execd else "")
            self.assertEqual(config.label({"RANK": "0"}, {}), "rank 0")  # what the process says comes first
        config.mark_image({config.IMAGE_ENV: me}, forked=True)  # a fork child: a new pid, whatever it inherited
        self.assertEqual(config.label({}, {}), "")

    def test_helpers(self):
        self.assertEqual(config.helper_kind(["python", "-c", "from multiprocessing.resource_tracker import main;"
                                             "main(5)"]), "tracker")
        self.assertEqual(config.helper_kind(["python", "-c", "from multiprocessing.forkserver import main; "
                                             "main(8, 9, ['__main__'], **{})"]), "forkserver")
        self.assertIsNone(config.helper_kind(["python", "train.py"]))


class GatewayDoor(unittest.TestCase):
    def setUp(self):
        self.gateway = Gateway(lib=None)
        self.gateway.start()
        self.addCleanup(self.gateway.close)

    def a_child_process(self):
        """A real child of this process (the gateway waits for joins only when its process has children)."""
        sleeper = subprocess.Popen(["sleep", "30"])
        self.addCleanup(sleeper.wait)
        self.addCleanup(sleeper.kill)
        return sleeper.pid

    def dial(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self.gateway.socket_path)
        self.addCleanup(sock.close)
        return Link(sock)

    def test_private_directory_and_socket(self):
        self.assertEqual(stat.S_IMODE(os.stat(self.gateway.folder).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(self.gateway.socket_path).st_mode), 0o600)
        env = self.gateway.environment()
        self.assertEqual(set(env), {config.ENV})  # no boot directory without lib
        self.assertEqual(config.decode(env[config.ENV])["token"], self.gateway.token)

    def test_a_wrong_token_gets_nothing(self):
        for token in ("0" * 64, self.gateway.token[:-1], None, 7):
            link = self.dial()
            link.send({"type": "hello", "kind": "control", "token": token, "pid": 4242, "ppid": 1,
                       "info": {"pid": 4242}})
            self.assertIsNone(link.recv(5.0))  # closed without a word
            self.assertEqual(self.gateway.pids(), [os.getpid()])

    def test_garbage_and_silence_are_closed(self):
        link = self.dial()
        link.sock.sendall(b"\x16\x03\x01 binary garbage\r\n\r\n")
        self.assertIsNone(link.recv(5.0))
        old = gateway_module.HELLO_TIMEOUT
        gateway_module.HELLO_TIMEOUT = 0.3
        self.addCleanup(setattr, gateway_module, "HELLO_TIMEOUT", old)
        silent = self.dial()
        started = time.monotonic()
        self.assertIsNone(silent.recv(5.0))
        self.assertLess(time.monotonic() - started, 4.0)

    def test_a_member_with_the_token_is_listed_until_its_link_ends(self):
        link = self.dial()
        link.send({"type": "hello", "kind": "control", "token": self.gateway.token, "pid": 4242, "ppid": os.getpid(),
                   "info": {"pid": 4242, "label": ""}})
        deadline = time.monotonic() + 5
        while self.gateway.pids() == [os.getpid()] and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.gateway.pids(), [os.getpid(), 4242])
        info = self.gateway.process_info({"pid": os.getpid()})  # the member does not answer: its hello is used
        joined = [p for p in info["processes"] if "notJoined" not in p]  # (not a child another test left running)
        self.assertEqual([(p["pid"], p["ppid"]) for p in joined], [(os.getpid(), os.getppid()), (4242, os.getpid())])
        link.close()
        deadline = time.monotonic() + 5
        while self.gateway.pids() != [os.getpid()] and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.gateway.pids(), [os.getpid()])


    def test_the_first_listing_wakes_the_job_and_waits_for_the_processes_it_woke(self):
        # A child that has not joined waits for the awake file (child.POLL between its looks), then joins: the
        # listing that made the file shows it, and so does a ?pid= selection of a process not joined yet.
        awake = os.path.join(self.gateway.folder, "awake")
        self.assertFalse(os.path.exists(awake))
        sleeper = self.a_child_process()
        links = []

        def waiting_child(pid):
            deadline = time.monotonic() + 10
            while not os.path.exists(awake) and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.15)  # its next look, and the join
            link = self.dial()
            link.send({"type": "hello", "kind": "control", "token": self.gateway.token, "pid": pid,
                       "ppid": os.getpid(), "info": {"pid": pid, "label": ""}})
            links.append(link)

        for pid in (4243, 4244):
            threading.Thread(target=waiting_child, args=(pid,), daemon=True).start()
        time.sleep(0.3)
        self.assertEqual(self.gateway.pids(), [os.getpid()])  # nobody asked yet: nobody joined
        info = self.gateway.process_info({"pid": os.getpid()})
        self.assertTrue(os.path.exists(awake))
        self.assertEqual([p["pid"] for p in info["processes"] if "notJoined" not in p], [os.getpid(), 4243, 4244])
        # the real child is the job's too, and runs another program: listed, saying why it is not in the job
        listed = [p for p in info["processes"] if p["pid"] == sleeper]
        self.assertEqual([(p["ppid"], p["argv"], p["attached"], p["runtime"]) for p in listed],
                         [(os.getpid(), ["sleep", "30"], None, "")])
        self.assertEqual(listed[0]["notJoined"], "runs sleep, which does not join it (only Python and Node.js "
                                                 "processes do)")

    def test_a_process_without_children_lists_without_settling(self):
        # nobody can be joining a job whose root has no child process: its first listing does not wait for joins
        # (asked in a fresh process: this one may still have children of earlier tests)
        code = ("import subprocess, time\n"
                "from longreach.job import gateway\n"
                "door = gateway.Gateway(lib=None); door.start()\n"
                "waits = []\n"
                "real = time.sleep\n"
                "time.sleep = lambda s: (waits.append(s), real(s))\n"
                "door.process_info({'pid': 1})\n"
                "alone = (gateway.has_children(), len(waits))\n"
                "child = subprocess.Popen(['sleep', '30'])\n"
                "door._awake_at = None; door.process_info({'pid': 1})\n"
                "print(alone[0], alone[1], gateway.has_children(), len(waits) > 0)\n"
                "child.kill(); child.wait(); door.close()\n")
        out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, timeout=60,
                             cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self.assertEqual(out.stdout.decode().split(), ["False", "0", "True", "True"])

    def test_a_selection_waits_for_the_process_it_woke(self):
        awake = os.path.join(self.gateway.folder, "awake")
        self.a_child_process()
        found = {}
        real = self.gateway.open_session
        self.gateway.open_session = lambda process, conn: found.setdefault("pid", process.pid) and None
        self.addCleanup(setattr, self.gateway, "open_session", real)

        def waiting_child():
            deadline = time.monotonic() + 10
            while not os.path.exists(awake) and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.15)
            link = self.dial()
            link.send({"type": "hello", "kind": "control", "token": self.gateway.token, "pid": 4245,
                       "ppid": os.getpid(), "info": {"pid": 4245, "label": ""}})

        threading.Thread(target=waiting_child, daemon=True).start()
        with self.assertRaises(LongreachError) as caught:
            self.gateway.select(types.SimpleNamespace(peer="127.0.0.1:5"), 4245)
        self.assertEqual(caught.exception.code, "LR_TIMEOUT")  # found, then asked to open (which this test fakes)
        self.assertEqual(found, {"pid": 4245})
        with self.assertRaises(LongreachError) as caught:
            self.gateway.select(types.SimpleNamespace(peer="127.0.0.1:5"), 999999)
        self.assertEqual(caught.exception.code, "LR_NO_SUCH_PROCESS")

    def test_a_process_that_joins_while_attach_brings_in_the_others_is_brought_in_once(self):
        # attach() brings in the processes there; one that joins meanwhile (the attach woke it) is brought in by its
        # own join too: the second must not open a second session, which left the child stopped for a closed one
        from longreach.job.jobsession import JobSession
        link = self.dial()
        link.send({"type": "hello", "kind": "control", "token": self.gateway.token, "pid": 4246, "ppid": os.getpid(),
                   "info": {"pid": 4246, "label": ""}})
        deadline = time.monotonic() + 5
        while 4246 not in self.gateway.pids() and time.monotonic() < deadline:
            time.sleep(0.02)
        process = [p for p in self.gateway.members() if p.pid == 4246][0]
        asked, release = [], threading.Event()

        def open_session(member, conn):
            asked.append(member.pid)
            release.wait(2.0)
            return None

        self.gateway.open_session = open_session
        self.addCleanup(delattr, self.gateway, "open_session")
        session = JobSession(self.gateway, None, types.SimpleNamespace(peer="127.0.0.1:5", ip="127.0.0.1",
                                                                        is_tls=False))
        session._announce = False  # attached: processes are joined, not reported
        first = threading.Thread(target=session.join, args=(process,), daemon=True)
        first.start()
        deadline = time.monotonic() + 5
        while not asked and time.monotonic() < deadline:
            time.sleep(0.01)
        session.join(process)
        self.assertEqual(asked, [4246])
        release.set()
        first.join(10)

    def test_a_process_that_says_it_exited_twice_is_said_to_have_exited_once(self):
        # a terminated process sends exited at the terminate, and its exit handler may send it again
        from longreach.job.jobsession import ChildPort, JobSession
        sent = []
        conn = types.SimpleNamespace(peer="127.0.0.1:5", ip="127.0.0.1", is_tls=False, send=sent.append)
        session = JobSession(self.gateway, None, conn)
        port = ChildPort(session, 1, types.SimpleNamespace(pid=4247, label="worker"), None)
        for _ in range(2):
            session.from_child(port, {"type": "event", "event": "exited", "body": {"exitCode": 0}})
        said = [m["body"]["output"] for m in sent if m.get("event") == "output"]
        self.assertEqual(said, ["longreach: pid 4247 worker exited with code 0\n"])


class Orphans(unittest.TestCase):
    def test_a_child_outliving_its_root_drops_its_agent_and_listens_nowhere(self):
        folder = tempfile.mkdtemp(prefix="longreach-orphan-")
        self.addCleanup(shutil.rmtree, folder, True)
        gone = os.path.join(folder, "root-gone")
        code = ("import os, sys, time\n"
                "from longreach._threads import AGENT_THREAD_IDS\n"
                "deadline = time.time() + 10\n"  # the member's thread may not have run yet on a loaded machine
                "while not AGENT_THREAD_IDS and time.time() < deadline: time.sleep(0.02)\n"
                "print('member threads %d' % len(AGENT_THREAD_IDS), flush=True)\n"
                "open(sys.argv[2], 'w').close()\n"  # the root ends only after this count
                "while not os.path.exists(sys.argv[1]): time.sleep(0.02)\n"
                "deadline = time.time() + 10\n"
                "while AGENT_THREAD_IDS and time.time() < deadline: time.sleep(0.05)\n"
                "print('after the root: %d agent threads' % len(AGENT_THREAD_IDS), flush=True)\n")
        child = Child("""
            import os, subprocess, sys, time, longreach
            longreach.enable_attach("s3cret", ("127.0.0.1", 0))
            from longreach import api
            api._server.job.wake()  # as a client's listing does: the job's processes join
            p = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2], sys.argv[3]])
            print(p.pid, flush=True)
            deadline = time.time() + 30
            while len(api._server.job.pids()) < 2 and time.time() < deadline:
                time.sleep(0.02)  # until it joined the job
            while not os.path.exists(sys.argv[3]) and time.time() < deadline:
                time.sleep(0.02)  # and counted its agent threads (PyPy saw 0 once: the root had already gone)
            """, args=[code, gone, os.path.join(folder, "counted")])
        self.addCleanup(child._close_pipes)
        pid = int(child.line())
        self.addCleanup(lambda: os.path.exists("/proc/%d" % pid) and os.kill(pid, 9))
        self.assertEqual(child.line(), "member threads 1")
        self.assertEqual(child.proc.wait(30), 0)  # the root exits; its child runs on
        with open(gone, "w"):
            pass
        # the orphan writes to the stdout pipe it inherited, which the Child helper still reads
        self.assertEqual(child.line(), "after the root: 0 agent threads")


@unittest.skipUnless(hasattr(os, "register_at_fork"), "needs os.register_at_fork")
class ForkedMembers(unittest.TestCase):
    def test_a_forked_child_joins_whatever_at_fork_hooks_run_after_the_agents(self):
        # PyPy crashes a child that starts a thread inside an at-fork hook: the member's thread must wait until
        # os.fork() returned, not only until the job's own hook did (breakpoint()'s and the program's run later)
        child = Child("""
            import os, time, warnings, longreach
            from longreach import api
            longreach.enable_attach("s3cret", ("127.0.0.1", 0))
            api._server.job.wake()  # as a client's listing does: the job's processes join
            os.register_at_fork(after_in_child=lambda: None)  # the program's, registered after the agent's
            warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork() with threads running
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                deadline = time.time() + 20
                member = lambda: getattr(api._server, "job", None)  # joins once it sees the job awake
                while (member() is None or member().thread is None) and time.time() < deadline:
                    time.sleep(0.02)
                os.read(r, 1)
                os._exit(0 if member() is not None and member().thread is not None else 3)
            deadline = time.time() + 20
            while pid not in api._server.job.pids() and time.time() < deadline:
                time.sleep(0.02)
            joined = pid in api._server.job.pids()
            os.write(w, b"x")
            deadline, done = time.time() + 20, 0
            while not done and time.time() < deadline:
                done, status = os.waitpid(pid, os.WNOHANG)
                time.sleep(0.02)
            if not done:
                os.kill(pid, 9)
                status = "%d (hung, killed)" % os.waitpid(pid, 0)[1]
            print("joined %s, status %s" % (joined, status), flush=True)
            """)
        self.addCleanup(child._close_pipes)
        self.assertEqual(child.line(60), "joined True, status 0")
        self.assertEqual(child.proc.wait(30), 0)

    def test_a_forked_child_joins_once_the_job_is_awake_or_when_it_calls_the_agent(self):
        # Until a client asks for the job (here wake(), which a listing, a ?pid= selection or an attach to the whole
        # job calls) a child does not join, however long it runs; it does at once when its program calls the agent,
        # and within child.POLL once the job is awake. A child forked then sees the job awake and joins at once.
        child = Child("""
            import os, time, warnings, longreach
            from longreach import api, child
            longreach.enable_attach("s3cret", ("127.0.0.1", 0))
            warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork() with threads running
            job = api._server.job

            def fork(body):
                said, done = os.pipe(), os.pipe()
                pid = os.fork()
                if pid == 0:
                    os.write(said[1], body().encode())
                    os.read(done[0], 1)  # until the parent is done
                    os._exit(0)
                return pid, os.read(said[0], 200).decode(), done[1]

            def listed(pid, limit=20):
                deadline = time.time() + limit
                while pid not in job.pids() and time.time() < deadline:
                    time.sleep(0.02)
                return pid in job.pids()

            def calls_the_agent():
                before = "%s %s" % (child.pending(), api._server is None)
                longreach.is_attached()
                return "%s; then %s %s" % (before, child.pending(), api._server.job_member)

            a, said, wa = fork(calls_the_agent)
            print("a:", said, listed(a), flush=True)
            b, said, wb = fork(lambda: "%s" % child.pending())
            print("b:", said, listed(b, 2.5), os.path.exists(os.path.join(job.folder, "awake")), flush=True)
            job.wake()
            print("b after the wake:", listed(b), flush=True)
            c, said, wc = fork(lambda: "%s" % child.pending())
            print("c:", listed(c), flush=True)
            for pid, w in ((a, wa), (b, wb), (c, wc)):
                os.write(w, b"x")
                print("status", os.waitpid(pid, 0)[1], flush=True)
            """)
        self.addCleanup(child._close_pipes)
        self.assertEqual(child.line(60), "a: True True; then False True True")
        self.assertEqual(child.line(60), "b: True False False")
        self.assertEqual(child.line(60), "b after the wake: True")
        self.assertEqual(child.line(60), "c: True")
        for _ in range(3):
            self.assertEqual(child.line(30), "status 0")
        self.assertEqual(child.proc.wait(30), 0)

    def test_breakpoint_in_a_forked_child_is_the_agents_and_joins_before_it_waits(self):
        # In a job, a forked child's breakpoint() waits for a debugger like any process of the job (here at most
        # LONGREACH_BREAKPOINT_WAIT seconds), joining first when it had not yet; outside a job it is Python's again.
        source = """
            import os, sys, longreach
            from longreach import api, breakhook, child
            longreach.enable_attach("s3cret", ("127.0.0.1", 0), subprocess=sys.argv[1] == "job")
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                said = "agent's %s" % (sys.breakpointhook is breakhook.hook)
                if sys.argv[1] == "job":
                    said += ", pending %s" % child.pending()
                    breakpoint()
                    said += ", then pending %s member %s" % (child.pending(), api._server.job_member)
                os.write(w, said.encode())
                os._exit(0)
            print(os.read(r, 200).decode(), os.waitpid(pid, 0)[1], flush=True)
            """
        for mode, wanted in (("job", "agent's True, pending True, then pending False member True 0"),
                             ("alone", "agent's False 0")):
            with self.subTest(mode):
                child = Child(source, args=[mode], env={"LONGREACH_BREAKPOINT_WAIT": "0.2"})
                self.addCleanup(child._close_pipes)
                self.assertEqual(child.line(60), wanted)
                self.assertEqual(child.proc.wait(30), 0)

    def test_a_new_interpreter_that_forks_before_it_joined_gets_no_warning_from_us(self):
        # 3.12+ warns at a fork with other threads running; the one that waits to join is ours. The fork child
        # makes a join of its own.
        child = Child("""
            import os, subprocess, sys, tempfile, time, longreach
            from longreach import api
            longreach.enable_attach("s3cret", ("127.0.0.1", 0))
            stop = os.path.join(tempfile.mkdtemp(), "stop")
            code = ("import os, time; pid = os.fork()\\n"
                    "if pid == 0:\\n"
                    "    deadline = time.time() + 30\\n"
                    "    while not os.path.exists(%r) and time.time() < deadline: time.sleep(0.05)\\n"
                    "    os._exit(0)\\n"
                    "print(pid, flush=True)\\n"
                    "print(os.waitpid(pid, 0)[1], flush=True)\\n" % stop)
            proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            grandchild = int(proc.stdout.readline())  # forked while nobody had asked for the job: before it joined
            api._server.job.wake()  # as a client's listing does: now the job's processes join
            deadline = time.time() + 20
            while grandchild not in api._server.job.pids() and time.time() < deadline:
                time.sleep(0.02)
            listed = grandchild in api._server.job.pids()
            open(stop, "w").close()
            out, err = proc.communicate()
            print("listed", listed, "status", out.decode().strip(), "stderr", repr(err.decode()), flush=True)
            """)
        self.addCleanup(child._close_pipes)
        self.assertEqual(child.line(60), "listed True status 0 stderr ''")
        self.assertEqual(child.proc.wait(30), 0)

    def test_a_program_without_a_job_that_forks_gets_no_warning_from_us(self):
        # subprocess=False: no job, but the server's threads are still ours (3.12+ would warn at every fork)
        child = Child("""
            import os, sys, longreach
            longreach.enable_attach("s3cret", ("127.0.0.1", 0), subprocess=False)
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            print("status", os.waitpid(pid, 0)[1], flush=True)
            """)
        self.addCleanup(child._close_pipes)
        self.assertEqual(child.line(60), "status 0")
        self.assertEqual(child.proc.wait(30), 0)
        self.assertEqual(child.stderr(), "")

    def test_a_program_with_threads_of_its_own_still_gets_pythons_warning(self):
        # 3.12+: only a fork with a thread of the program's own warns (line 9 here), as it would without the agent;
        # before and after it, only our threads are there
        child = Child("""
            import os, threading, time, longreach
            longreach.enable_attach("s3cret", ("127.0.0.1", 0), subprocess=False)
            def reap(pid):
                if pid == 0: os._exit(0)
                os.waitpid(pid, 0)
            reap(os.fork()); ours = len(os.listdir("/proc/self/task"))
            stop = threading.Event(); mine = threading.Thread(target=stop.wait); mine.start()
            reap(os.fork())
            stop.set(); mine.join(); deadline = time.time() + 10
            # the kernel counts a joined thread a moment longer (Python's warning would see it too, agent or not)
            while len(os.listdir("/proc/self/task")) > ours and time.time() < deadline: time.sleep(0.005)
            reap(os.fork())
            print("done", flush=True)
            """)
        self.addCleanup(child._close_pipes)
        self.assertEqual(child.line(60), "done")
        self.assertEqual(child.proc.wait(30), 0)
        warned = [line for line in child.stderr().splitlines() if "DeprecationWarning" in line]
        self.assertEqual(warned, ["<string>:9: DeprecationWarning: This process (pid=%d) is multi-threaded, use of "
                                  "fork() may lead to deadlocks in the child." % child.proc.pid]
                         if sys.version_info >= (3, 12) else [])


class NoSecretOutsideTheRoot(unittest.TestCase):
    def test_children_see_neither_the_secret_nor_a_token_on_their_command_line(self):
        child = Child("""
            import json, os, subprocess, sys, longreach
            longreach.enable_attach("s3cret-value", ("127.0.0.1", 0))
            out = subprocess.run([sys.executable, "-c", "import json, os; print(json.dumps({"
                                  "'cmdline': open('/proc/self/cmdline', 'rb').read().decode(), "
                                  "'job': os.environ.get('LONGREACH_JOB')}))"],
                                 stdout=subprocess.PIPE, check=True).stdout.decode()
            print(out.strip())
            """)
        seen = json.loads(child.line())
        self.assertEqual(child.wait(), 0)
        job = config.decode(seen["job"])
        self.assertIsNotNone(job)
        self.assertNotIn("s3cret", seen["cmdline"] + seen["job"])
        self.assertNotIn(job["token"], seen["cmdline"])


if __name__ == "__main__":
    unittest.main()
