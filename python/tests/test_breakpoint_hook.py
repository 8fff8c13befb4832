"""breakpoint() in a program whose agent already runs (enable_attach): it stops at the caller's line when a debugger
is attached; otherwise it waits, listed as waiting, the debugger that attaches gets the stop at once and detaching
lets it carry on; LONGREACH_BREAKPOINT_WAIT bounds the wait (0: never); PYTHONBREAKPOINT=0 and other hooks are
honoured. Real child processes on every interpreter."""

import os

from .breakpoint_support import BP_LINE, NEXT_LINE, ProgramCase

# The program: the agent on a free loopback port (printed), optionally held until a debugger attaches.
AGENT = """
import sys
import longreach
print(longreach.enable_attach(None, address=("127.0.0.1", 0))[1], flush=True)
if "wait" in sys.argv:
    longreach.wait_for_attach()
main()
"""


class BreakpointWithAgent(ProgramCase):
    def start(self, env=None, args=(), tail=AGENT):
        path = self.program(tail)
        child = self.run_program(path, env, args)
        port = int(child.line())
        return path, child, port

    def test_attached_stops_at_the_callers_line_and_steps_on_in_it(self):
        path, child, port = self.start(args=["wait"])
        client = self.attach(port)
        self.assert_stopped_at(client, path, BP_LINE)
        self.assertTrue(client.request("next", {"threadId": 1})["success"])
        stopped = client.event("stopped")
        self.assertEqual(stopped["body"]["reason"], "step")
        frame = self.top_frame(client, stopped)
        self.assertEqual((frame["name"], frame["line"]), ("main", NEXT_LINE))
        self.assertTrue(client.request("continue", {"threadId": 1})["success"])
        self.assertEqual(self.finish(child), "")

    def test_nobody_attached_waits_listed_then_attach_gets_the_stop_and_detach_continues(self):
        path, child, port = self.start()
        waiting = self.wait_listed_waiting(port)
        self.assertEqual(os.path.realpath(waiting["file"]), os.path.realpath(path))
        self.assertEqual(waiting["line"], BP_LINE)
        self.assertRegex(waiting["since"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        client = self.attach(port)
        self.assert_stopped_at(client, path, BP_LINE)
        info = self.info(port)
        self.assertIsNone(info["waiting"])
        self.assertIsNotNone(info["attached"])
        self.assertTrue(client.request("disconnect", {})["success"])
        self.assertEqual(self.finish(child), "")

    def test_a_second_breakpoint_after_detach_waits_again(self):
        path, child, port = self.start(tail=AGENT + "main()\n")
        self.wait_listed_waiting(port)
        client = self.attach(port)
        self.assert_stopped_at(client, path, BP_LINE)
        self.assertTrue(client.request("disconnect", {})["success"])
        client.expect_closed()
        self.assertEqual(child.line(), "after 42")
        self.assertEqual(self.wait_listed_waiting(port)["line"], BP_LINE)
        client = self.attach(port)
        self.assert_stopped_at(client, path, BP_LINE)
        self.assertTrue(client.request("disconnect", {})["success"])
        self.assertEqual(self.finish(child), "")

    def test_breakpoint_wait_elapses_and_the_program_carries_on(self):
        path, child, port = self.start(env={"LONGREACH_BREAKPOINT_WAIT": "3"})
        self.assertEqual(self.wait_listed_waiting(port)["line"], BP_LINE)
        self.assertEqual(self.finish(child), "")

    def test_breakpoint_wait_zero_never_waits(self):
        path, child, port = self.start(env={"LONGREACH_BREAKPOINT_WAIT": "0"})
        self.assertEqual(self.finish(child), "")

    def test_breakpoint_wait_zero_still_stops_for_an_attached_debugger(self):
        path, child, port = self.start(env={"LONGREACH_BREAKPOINT_WAIT": "0"}, args=["wait"])
        client = self.attach(port)
        self.assert_stopped_at(client, path, BP_LINE)
        self.assertTrue(client.request("disconnect", {})["success"])
        self.assertEqual(self.finish(child), "")

    def test_a_bad_breakpoint_wait_is_one_line_and_breakpoint_does_nothing(self):
        path, child, port = self.start(env={"LONGREACH_BREAKPOINT_WAIT": "soon"}, tail=AGENT + "main()\n")
        err = self.finish(child)
        self.assertEqual(err.count("\n"), 1, err)
        self.assertIn("LONGREACH_BREAKPOINT_WAIT='soon' is not a number of seconds", err)

    def test_pythonbreakpoint_0_disables_breakpoint_even_when_attached(self):
        path, child, port = self.start(env={"PYTHONBREAKPOINT": "0"}, args=["wait"])
        client = self.attach(port)
        seen = [m for m in client.expect_closed() if m.get("type") == "event"]
        self.assertNotIn("stopped", [m["event"] for m in seen])
        self.assertIn("exited", [m["event"] for m in seen])
        self.assertEqual(self.finish(child), "")

    def test_pythonbreakpoint_naming_another_hook_gets_the_call(self):
        self.write("other_hook.py", """
            import sys
            def hook(*args, **kws):
                print("other hook called from line", sys._getframe(1).f_lineno, flush=True)
        """)
        path, child, port = self.start(env={"PYTHONBREAKPOINT": "other_hook.hook"})
        self.assertEqual(child.line(), "other hook called from line %d" % BP_LINE)
        self.assertEqual(self.finish(child), "")

    def test_a_hook_the_program_installed_is_left_alone(self):
        tail = "import sys\nsys.breakpointhook = lambda *a, **k: print('own hook', flush=True)\n" + AGENT
        path, child, port = self.start(tail=tail)
        self.assertEqual(child.line(), "own hook")
        self.assertEqual(self.finish(child), "")

    def test_two_threads_wait_and_both_stop_for_the_debugger(self):
        tail = AGENT.replace("main()\n", """
import threading
worker = threading.Thread(target=main, name="worker")
worker.start()
main()
worker.join()
""")
        path, child, port = self.start(tail=tail)
        self.wait_listed_waiting(port)
        client = self.attach(port)
        self.assert_stopped_at(client, path, BP_LINE)
        names = [t["name"] for t in client.request("threads")["body"]["threads"]]
        self.assertIn("worker", names)
        self.assertIn("MainThread", names)
        # the other thread either joined this all-stop or stops at its breakpoint() once this one goes on
        stops = 1
        while True:
            self.assertTrue(client.request("continue", {"threadId": 1})["success"])
            message = client.expect(lambda m: m.get("type") == "event" and m.get("event") in ("stopped", "exited"))
            if message["event"] == "exited":
                break
            stops += 1
            frame = self.top_frame(client, message)
            self.assertEqual((frame["name"], frame["line"]), ("main", BP_LINE))
        self.assertLessEqual(stops, 2)
        rc = child.wait()
        out = "".join(child.stdout_lines) + child.rest_of_stdout()
        self.assertEqual(rc, 0, child.stderr())
        self.assertEqual(out.count("after 42"), 2, repr(out) + "\nstderr: " + child.stderr())

    def test_a_forked_child_outside_a_job_gets_pythons_own_hook_back(self):
        # (in a job the child's breakpoint() stays the agent's: test_job.ForkedMembers)
        tail = AGENT.replace('("127.0.0.1", 0))', '("127.0.0.1", 0), subprocess=False)').replace("main()\n", """
import os
print("parent hook is ours:", sys.breakpointhook is not sys.__breakpointhook__, flush=True)
pid = os.fork()
if pid == 0:
    print("child hook is Python's:", sys.breakpointhook is sys.__breakpointhook__, flush=True)
    os._exit(0)
os.waitpid(pid, 0)
""")
        path, child, port = self.start(tail=tail)
        self.assertEqual(child.line(), "parent hook is ours: True")
        self.assertEqual(child.line(), "child hook is Python's: True")
        self.assertEqual(child.wait(), 0, child.stderr())
