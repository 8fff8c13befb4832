"""Waking a job's waiting processes (longreach/job/wakeup.py): a child forked or started while nobody has asked for
the job runs no thread of ours and joins when the gateway sends it the wake signal; a program that owns that signal
keeps it."""

import sys
import unittest

from .support.child import Child

_FORK_AND_WAKE = """
    import os, signal, subprocess, sys, threading, time, warnings, longreach
    from longreach import api, child
    from longreach.job import wakeup
    calls = []
    if sys.argv[1] == "program's signal":
        signal.signal(wakeup.WAKE_SIGNAL, lambda *_: calls.append(os.getpid()))
    if sys.argv[1] == "from a thread":
        started = threading.Thread(target=longreach.enable_attach, args=("s3cret", ("127.0.0.1", 0)))
        started.start(); started.join()
    else:
        longreach.enable_attach("s3cret", ("127.0.0.1", 0))
    warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork() with our threads running
    job = api._server.job
    # a process under the root that does not catch the signal (it blocks it, so one sent would show as pending)
    other = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.pthread_sigmask(signal.SIG_BLOCK, "
                              "{signal.SIGURG}); print('ready', flush=True); time.sleep(60)"], stdout=subprocess.PIPE,
                             env={k: v for k, v in os.environ.items() if k != "LONGREACH_JOB"})
    other.stdout.readline()
    said, done = os.pipe(), os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(said[1], ("threads %d pending %s" % (len(os.listdir("/proc/self/task")), child.pending())).encode())
        os.read(done[0], 1)  # what the program is doing when the wake comes: Python retries it
        os.write(said[1], ("joined %s, handler called %d" % (not child.pending(), len(calls))).encode())
        os._exit(0)
    print(os.read(said[0], 100).decode(), flush=True)
    job.wake()  # as a client's listing does
    deadline = time.time() + 20
    while pid not in job.pids() and time.time() < deadline:
        time.sleep(0.01)
    with open("/proc/%d/status" % other.pid) as status:
        pending = [int(line.split()[1], 16) for line in status if line.startswith("ShdPnd:")][0]
    print("listed", pid in job.pids(), "other signalled", bool(pending >> (signal.SIGURG - 1) & 1), flush=True)
    other.kill(); other.wait()
    os.write(done[1], b"x")
    print(os.read(said[0], 100).decode(), "status", os.waitpid(pid, 0)[1], "root's handler", len(calls), flush=True)
    """


_EXEC_AND_WAKE = """
    import os, signal, subprocess, sys, time, longreach
    from longreach import api
    if sys.argv[1] == "program's signal":
        signal.signal(signal.SIGURG, lambda *_: None)
    longreach.enable_attach("s3cret", ("127.0.0.1", 0))
    job = api._server.job
    code = ("import os, sys; from longreach import child; "
            "print('threads %d pending %s' % (len(os.listdir('/proc/self/task')), child.pending()), flush=True); "
            "sys.stdin.readline(); print('pending %s' % child.pending(), flush=True)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    print(proc.stdout.readline().decode().strip(), flush=True)
    job.wake()
    deadline = time.time() + 20
    while proc.pid not in job.pids() and time.time() < deadline:
        time.sleep(0.01)
    print("listed", proc.pid in job.pids(), flush=True)
    proc.stdin.write(b"go\\n"); proc.stdin.flush()
    print(proc.stdout.readline().decode().strip(), "status", proc.wait(), flush=True)
    """

_ORPHAN_AND_WAKE = """
    import json, os, subprocess, sys, time, longreach
    from longreach import api
    longreach.enable_attach("s3cret", ("127.0.0.1", 0))
    job = api._server.job
    code = ("import os, sys; from longreach import child; "
            "print('threads %d pending %s' % (len(os.listdir('/proc/self/task')), child.pending()), flush=True); "
            "sys.stdin.readline(); print('pending %s' % child.pending(), flush=True)")
    # the same program under another job's variable (its own handler of the signal, to count what it is sent)
    other_job = dict(json.loads(os.environ["LONGREACH_JOB"]), socket="/nonexistent/gw")
    other_code = ("import signal, sys; calls = []; signal.signal(signal.SIGURG, lambda *_: calls.append(1)); "
                  "print('ready', flush=True); sys.stdin.readline(); print('other called %d' % len(calls), flush=True)")
    middle = ("import subprocess, sys; child = subprocess.Popen(sys.argv[1:]); print(child.pid, flush=True)")

    def orphan(argv, env=None):
        # a process of the job whose parent exits at once: it is reparented away from the root's tree
        proc = subprocess.Popen([sys.executable, "-c", middle] + argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                env=env)
        pid = int(proc.stdout.readline())
        proc.wait()
        return pid, proc.stdin, proc.stdout

    other_pid, other_in, other_out = orphan([sys.executable, "-I", "-c", other_code],
                                            dict(os.environ, LONGREACH_JOB=json.dumps(other_job)))
    print(other_out.readline().decode().strip(), flush=True)
    pid, stdin, stdout = orphan([sys.executable, "-c", code])
    print(stdout.readline().decode().strip(), "reparented", os.getpid() != int(open("/proc/%d/stat" % pid).read()
                                                                            .rsplit(")", 1)[1].split()[1]), flush=True)
    job.wake()
    deadline = time.time() + 20
    while pid not in job.pids() and time.time() < deadline:
        time.sleep(0.01)
    print("listed", pid in job.pids(), flush=True)
    for out in (stdin, other_in):
        out.write(b"go\\n"); out.flush()
    print(stdout.readline().decode().strip(), other_out.readline().decode().strip(), flush=True)
    """

_FORK_ORPHAN_AND_WAKE = """
    import os, sys, time, warnings
    # this process leads its group (as a shell's job does); with "no group" the root is a child of it, which does not
    if sys.argv[1] == "no group":
        first = os.fork()
        if first:
            os._exit(os.waitpid(first, 0)[1] >> 8)
    import longreach
    from longreach import api, child
    from longreach.job import wakeup
    longreach.enable_attach("s3cret", ("127.0.0.1", 0))
    warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork() with our threads running
    job = api._server.job
    said, go = os.pipe(), os.pipe()
    middle = os.fork()
    if middle == 0:
        parent = os.getpid()
        if os.fork() == 0:
            # forked twice and its parent gone: it started no program with the job's variable, and has left the tree
            os.write(said[1], b"%d\\n" % os.getpid())
            while os.getppid() == parent:
                time.sleep(0.01)
            os.write(said[1], b"reparented\\n")
            os.read(go[0], 1)
            os.write(said[1], b"pending %s\\n" % str(child.pending()).encode())
            os._exit(0)
        os._exit(0)
    os.waitpid(middle, 0)
    lines = b""
    while lines.count(b"\\n") < 2:
        lines += os.read(said[0], 100)
    pid = int(lines.split()[0])
    print("descends", wakeup.descends(pid, os.getpid()), flush=True)
    from longreach.job import notjoined  # (?pid= of it, and a listing, before it joins: the job's, not yet joined)
    found = notjoined.reason(pid, os.getpid(), job.socket_path, job.bootdir)
    print("not joined yet", found == (False, notjoined._NOT_YET), flush=True)
    job.wake()
    deadline = time.time() + (20 if sys.argv[1] == "group" else 2)
    while pid not in job.pids() and time.time() < deadline:
        time.sleep(0.01)
    print("listed", pid in job.pids(), flush=True)
    os.write(go[1], b"x")
    print(os.read(said[0], 100).decode().strip(), flush=True)
    """


class WakeSignal(unittest.TestCase):
    def _run(self, mode, source=_FORK_AND_WAKE, count=3):
        child = Child(source, args=[mode])
        self.addCleanup(child._close_pipes)
        lines = [child.line(60) for _ in range(count)]
        self.assertEqual(child.proc.wait(30), 0)
        self.assertEqual(child.stderr(), "")
        return lines

    def test_a_forked_child_nobody_asked_for_runs_no_thread_of_ours_and_joins_at_the_wake(self):
        # the child's main thread is blocked in a read when the signal comes: it joins (on a thread it starts
        # then), and the read goes on; a process that does not catch the signal is never sent it
        self.assertEqual(self._run("signal"), ["threads 1 pending True", "listed True other signalled False",
                                               "joined True, handler called 0 status 0 root's handler 0"])

    def test_without_the_signal_a_forked_child_waits_on_a_thread_of_ours(self):
        # a program that handles the signal itself keeps it (its handler is never called by us), and a root
        # started from another thread cannot take it: then the child looks for the awake flag on a thread
        for mode in ("program's signal", "from a thread"):
            with self.subTest(mode):
                self.assertEqual(self._run(mode), ["threads 2 pending True", "listed True other signalled False",
                                                   "joined True, handler called 0 status 0 root's handler 0"])

    def test_a_new_interpreter_of_the_job_takes_the_signal_as_it_boots(self):
        # exec resets handlers: the bootstrap takes it again when the root has it (its LONGREACH_JOB says so)
        self.assertEqual(self._run("signal", _EXEC_AND_WAKE), ["threads 1 pending True", "listed True",
                                                               "pending False status 0"])
        self.assertEqual(self._run("program's signal", _EXEC_AND_WAKE), ["threads 2 pending True", "listed True",
                                                                         "pending False status 0"])

    def test_a_process_of_the_job_reparented_away_from_the_root_is_woken_too(self):
        # its parent exited before the wake, so it is no longer under the root: the gateway finds it by the job's
        # variable its program started with; a process whose variable names another job is not sent the signal
        self.assertEqual(self._run("signal", _ORPHAN_AND_WAKE, 4), ["ready", "threads 1 pending True reparented True",
                                                                    "listed True", "pending False other called 0"])

    def test_a_child_forked_in_the_job_whose_parent_exited_is_woken_where_the_root_leads_its_group(self):
        # it started no program with the job's variable; the root's process group is what still says it is the
        # job's. A root that does not lead its group cannot tell, and the orphan stays out
        self.assertEqual(self._run("group", _FORK_ORPHAN_AND_WAKE, 4), ["descends False", "not joined yet True",
                                                                        "listed True", "pending False"])
        self.assertEqual(self._run("no group", _FORK_ORPHAN_AND_WAKE, 4), ["descends False", "not joined yet False",
                                                                           "listed False", "pending True"])


if __name__ == "__main__":
    unittest.main()
