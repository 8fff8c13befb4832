"""DebugSession stackTrace: the JSON text sent on the wire (made alongside the body, see wire.Encoded) says exactly
what the body says, whatever the names and paths hold; paging and frame ids on a deep stack."""

import importlib.util
import json
import os
import shutil
import sys
import tempfile
import unittest

from tests.session_support import Harness, tracee
from longreach.wire import framing as wire
from longreach.errors import LongreachError
from longreach.tracer.linetable import current_line

# a directory and a module whose names need JSON escapes and hold a '%' (the text is made with % templates)
_MODULE = u'''
def outer_\u00e9(cb):
    return cb()  # outer line
'''
_EXECD = '''
def from_exec(stop):
    return stop()
'''


def _on_the_wire(body):
    """What a client reads: the frame encode() makes for a response carrying `body`, decoded."""
    frame = wire.encode({"type": "response", "seq": 7, "request_seq": 3, "command": "stackTrace",
                         "success": True, "body": body})
    message = list(wire.FrameDecoder(body_limit=1 << 30, authenticated=True).feed(frame))[0]
    return message


class StackText(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="lr-stack-%d \u00e9 \"q\" ")
        path = os.path.join(self.dir, "mod_\u00e9.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(_MODULE)
        spec = importlib.util.spec_from_file_location("mod_\u00e9", path)
        self.mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.mod)
        ns = {}
        exec(compile(_EXECD, "<exec'd \"%s\" \u2713>", "exec"), ns)
        self.from_exec = ns["from_exec"]
        # the client's copy lives on Windows: paths come back with backslashes
        self.h = Harness({"pathMappings": [{"localRoot": "C:\\Users\\\u00e9 50%\\proj", "remoteRoot": self.dir}]})

    def tearDown(self):
        self.h.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_text_matches_body(self):
        h = self.h

        def body():
            return getattr(self.mod, "outer_\u00e9")(lambda: self.from_exec(lambda: h.session.break_into(
                sys._getframe(1))))
        t, result = h.start(body)
        self.addCleanup(t.join, 5)
        stop = h.wait_event("stopped")
        stack = h.request("stackTrace", {"threadId": stop["threadId"]})
        sent = _on_the_wire(stack)
        self.assertEqual(sent["body"], json.loads(json.dumps(dict(stack))))
        self.assertEqual((sent["seq"], sent["request_seq"], sent["command"], sent["success"]), (7, 3, "stackTrace",
                                                                                                   True))
        frames = sent["body"]["stackFrames"]
        self.assertEqual(sent["body"]["totalFrames"], len(frames))
        self.assertEqual(frames[0]["name"], "from_exec")
        self.assertEqual(frames[0]["source"]["name"], "<exec'd \"%s\" \u2713>")
        self.assertGreater(frames[0]["source"]["sourceReference"], 0)
        mine = [f for f in frames if f["name"] == "outer_\u00e9"]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["source"], {"name": "mod_\u00e9.py", "path": "C:\\Users\\\u00e9 50%\\proj\\mod_\u00e9.py"})
        self.assertNotIn("presentationHint", mine[0])
        # the harness's thread starts in the standard library's threading.py
        self.assertEqual(frames[-1]["presentationHint"], "subtle")
        self.assertTrue(all(f["column"] == 1 and f["line"] > 0 for f in frames))
        # the ids sent are the ones that work
        scopes = h.request("scopes", {"frameId": mine[0]["id"]})["scopes"]
        names = [v["name"] for v in h.request("variables", {"variablesReference": scopes[0]["variablesReference"]})[
            "variables"]]
        self.assertEqual(names, ["cb"])
        h.request("continue", {})
        t.join(5)
        self.assertFalse(t.is_alive())

    def test_deep_pages_agree_with_the_whole(self):
        h = self.h
        h.set_breakpoints(["rec"], condition="n == 0")
        t, _ = h.start(tracee.recurse, 300)
        self.addCleanup(t.join, 5)
        tid = h.wait_event("stopped")["threadId"]
        whole = _on_the_wire(h.request("stackTrace", {"threadId": tid}))["body"]
        pages, start = [], 0
        while start < whole["totalFrames"]:
            page = _on_the_wire(h.request("stackTrace", {"threadId": tid, "startFrame": start, "levels": 64}))[
                "body"]
            self.assertEqual(page["totalFrames"], whole["totalFrames"])
            pages.extend(page["stackFrames"])
            start += 64
        strip = lambda fs: [dict((k, v) for k, v in f.items() if k != "id") for f in fs]  # noqa: E731
        self.assertEqual(strip(pages), strip(whole["stackFrames"]))
        self.assertEqual(len(set(f["id"] for f in pages + whole["stackFrames"])), 2 * whole["totalFrames"])
        beyond = _on_the_wire(h.request("stackTrace", {"threadId": tid, "startFrame": 10000}))["body"]
        self.assertEqual(beyond, {"stackFrames": [], "totalFrames": whole["totalFrames"]})
        h.request("continue", {})


class EncodedBody(unittest.TestCase):
    def test_encoded_body_is_spliced_and_checked(self):
        body = wire.Encoded({"a": 1}, '{"a":1}')
        frame = wire.encode({"type": "response", "body": body})
        self.assertEqual(list(wire.FrameDecoder().feed(frame)), [{"type": "response", "body": {"a": 1}}])
        with self.assertRaises(ValueError):
            wire.encode({"type": "response", "body": wire.Encoded({}, u'{"a":"\u00e9"}')})
        with self.assertRaises(LongreachError):
            wire.encode({"type": "response", "body": wire.Encoded({}, '{"a":"' + "x" * 100 + '"}')}, body_limit=50)


class CurrentLine(unittest.TestCase):
    def test_a_caller_frame_with_a_trace_function_is_at_its_call_not_its_last_line_event(self):
        # CPython 3.8/3.9 and PyPy: a frame with f_trace set and no line events since says as f_lineno the line
        # where that was (here the line that set it); the stack shows where it is: the call
        seen = []

        def inner():
            caller = sys._getframe(1)
            seen.append(current_line(caller))

        def outer():
            sys._getframe().f_trace = lambda *args: None
            inner()

        outer()
        self.assertEqual(seen, [outer.__code__.co_firstlineno + 2])


if __name__ == "__main__":
    unittest.main()
