"""DebugSession: stack paging, scopes, variables paging, setVariable, evaluate, completions, sources, modules."""

import linecache
import os
import sys
import unittest

from tests.session_support import Harness, line_of, tracee


class Inspect(unittest.TestCase):
    def setUp(self):
        self.h = Harness()

    def tearDown(self):
        self.h.close()

    def stop_at(self, marker, fn, *args, **bp):
        self.h.set_breakpoints([marker], **bp)
        t, result = self.h.start(fn, *args)
        stop = self.h.wait_event("stopped")
        self.addCleanup(t.join, 5)  # runs after tearDown has detached, which resumes it
        return stop["threadId"], result

    def test_deep_stack_paging(self):
        h = self.h
        tid, _ = self.stop_at("rec", tracee.recurse, 900, condition="n == 0")
        page = h.request("stackTrace", {"threadId": tid, "startFrame": 0, "levels": 20})
        self.assertGreaterEqual(page["totalFrames"], 901)
        self.assertEqual(len(page["stackFrames"]), 20)
        self.assertTrue(all(f["name"] == "recurse" for f in page["stackFrames"]))
        rest = h.request("stackTrace", {"threadId": tid, "startFrame": 20})
        self.assertEqual(len(rest["stackFrames"]), page["totalFrames"] - 20)
        ids = set(f["id"] for f in page["stackFrames"] + rest["stackFrames"])
        self.assertEqual(len(ids), page["totalFrames"])
        self.assertEqual(h.error("stackTrace", {"threadId": tid, "levels": -1}).code, "LR_BAD_REQUEST")

    def test_scopes_globals_and_paged_list(self):
        h = self.h
        tid, _ = self.stop_at("many", tracee.many, 100000)
        frame = h.top(tid)
        scopes = h.request("scopes", {"frameId": frame["id"]})["scopes"]
        self.assertEqual([s["name"] for s in scopes], ["Locals", "Globals"])
        glob = h.request("variables", {"variablesReference": scopes[1]["variablesReference"]})["variables"]
        self.assertIn("leaf", [v["name"] for v in glob])
        self.assertNotIn("__builtins__", [v["name"] for v in glob])
        items = h.locals_of(frame["id"])["items"]
        self.assertEqual(items["indexedVariables"], 100000)
        page = h.request("variables", {"variablesReference": items["variablesReference"], "start": 500,
                                       "count": 3, "filter": "indexed"})["variables"]
        self.assertEqual([(v["name"], v["value"]) for v in page], [("500", "500"), ("501", "501"), ("502", "502")])
        named = h.request("variables", {"variablesReference": items["variablesReference"], "filter": "named"})
        self.assertEqual(named["variables"], [])
        self.assertEqual(h.error("variables", {"variablesReference": 99999}).code, "LR_BAD_REQUEST")

    def test_set_variable_local_and_list_item(self):
        h = self.h
        tid, result = self.stop_at("many", tracee.many, 5)
        frame = h.top(tid)
        loc = h.locals_of(frame["id"])
        ref = h.request("scopes", {"frameId": frame["id"]})["scopes"][0]["variablesReference"]
        body = h.request("setVariable", {"variablesReference": ref, "name": "items", "value": "[7] * 3"})
        self.assertEqual(body["value"], "[7, 7, 7]")
        loc = h.locals_of(frame["id"])
        h.request("setVariable", {"variablesReference": loc["items"]["variablesReference"], "name": "1",
                                  "value": "n * 2"})
        self.assertEqual(h.request("evaluate", {"expression": "items", "frameId": frame["id"],
                                                "context": "watch"})["result"], "[7, 10, 7]")
        e = h.error("setVariable", {"variablesReference": ref, "name": "items", "value": "1 +"})
        self.assertEqual(e.code, "LR_EVAL_FAILED")
        h.request("continue", {})
        h.threads[-1].join(5)
        self.assertEqual(result["value"], 3)

    def test_evaluate_contexts_and_errors(self):
        h = self.h
        tid, _ = self.stop_at("leaf1", tracee.outer, 4)
        fid = h.top(tid)["id"]
        ev = lambda expr, ctx="watch": h.request("evaluate", {"expression": expr, "frameId": fid, "context": ctx})
        self.assertEqual(ev("n + 1", "hover")["result"], "5")
        big = ev("list(range(1000))")
        self.assertEqual(big["indexedVariables"], 1000)
        self.assertEqual(ev("import os", "repl")["result"], "")
        self.assertEqual(ev("os.sep", "repl")["result"], repr(os.sep))
        e = h.error("evaluate", {"expression": "x = 5", "frameId": fid, "context": "watch"})
        self.assertEqual(e.code, "LR_EVAL_FAILED")
        e = h.error("evaluate", {"expression": "undefined_name", "frameId": fid, "context": "watch"})
        self.assertIn("NameError", e.message)
        e = h.error("evaluate", {"expression": "__import__('time').sleep(4)", "frameId": fid, "context": "hover"})
        self.assertEqual(e.code, "LR_EVAL_BUDGET")
        self.assertIn("still running in native code", e.message)
        self.assertEqual(h.error("evaluate", {"expression": "1", "frameId": 12345}).code, "LR_BAD_REQUEST")

    def test_evaluate_does_not_stop_on_breakpoints(self):
        h = self.h
        tid, _ = self.stop_at("leaf1", tracee.outer, 1)
        fid = h.top(tid)["id"]
        self.assertEqual(h.request("evaluate", {"expression": "leaf(10)", "frameId": fid,
                                                "context": "repl"})["result"], "20")
        self.assertEqual(len(h.events("stopped")), 1)

    def test_completions(self):
        h = self.h
        tid, _ = self.stop_at("leaf1", tracee.outer, 1)
        fid = h.top(tid)["id"]
        labels = [t["label"] for t in h.request("completions", {"text": "mid", "column": 4,
                                                                "frameId": fid})["targets"]]
        self.assertIn("middle", labels)
        targets = h.request("completions", {"text": "os.pa", "column": 6, "frameId": fid})["targets"]
        self.assertEqual(targets, [])  # os is not a name in tracee
        labels = [t["label"] for t in h.request("completions", {"text": "Thing.me", "column": 9,
                                                                "frameId": fid})["targets"]]
        self.assertEqual(labels, ["method"])

    def test_source_by_path_and_reference(self):
        h = self.h
        text = h.request("source", {"source": {"path": tracee.__file__}})["content"]
        self.assertIn("# L:leaf1", text)
        name = "<generated-for-test>"
        src = "def gen_fn():\n    return 41 + 1\n"
        linecache.cache[name] = (len(src), None, src.splitlines(True), name)
        ns = {}
        exec(compile(src, name, "exec"), ns)
        body = h.request("setFunctionBreakpoints", {"breakpoints": [{"name": "gen_fn"}]})
        self.assertTrue(body["breakpoints"][0]["verified"])
        t, _ = h.start(ns["gen_fn"])
        stop = h.wait_event("stopped")
        source = h.top(stop["threadId"])["source"]
        self.assertIn("sourceReference", source)
        got = h.request("source", {"sourceReference": source["sourceReference"]})["content"]
        self.assertEqual(got, src)
        h.request("continue", {})
        t.join(5)
        self.assertEqual(h.error("source", {"sourceReference": 777}).code, "LR_BAD_REQUEST")
        self.assertEqual(h.error("source", {"source": {"path": "/nowhere/at/all.py"}}).code, "LR_BAD_REQUEST")

    def test_loaded_sources_and_modules(self):
        h = self.h
        paths = [s["path"] for s in h.request("loadedSources")["sources"]]
        self.assertIn(os.path.normcase(os.path.abspath(tracee.__file__)), paths)
        mods = h.request("modules", {"startModule": 0, "moduleCount": 5})
        self.assertEqual(len(mods["modules"]), 5)
        self.assertGreaterEqual(mods["totalModules"], len(sys.modules) - 5)

    def test_threads_lists_no_agent_threads(self):
        from longreach._threads import AGENT_THREAD_IDS, start_agent_thread
        import threading
        stop = threading.Event()
        start_agent_thread(stop.wait, "longreach-test-agent")
        try:
            names = [t["name"] for t in self.h.request("threads")["threads"]]
            self.assertNotIn("longreach-test-agent", names)
            self.assertTrue(AGENT_THREAD_IDS)
        finally:
            stop.set()


if __name__ == "__main__":
    unittest.main()
