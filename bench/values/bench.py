"""`npm run bench:values`: the four data-value figures of issue 13, measured inside the program (the time the
agent's request handler takes on the server's thread; the wire adds a fraction of a millisecond on loopback).

Runs on the system Python with numpy, pandas and torch. A real DebugSession, stopped by a real breakpoint in a
function holding a 6^10 float32 array, a 100M-element float array, a 5M-row DataFrame, tensors (requires_grad,
grad_fn, 0-d, meta), a structured array and a 10M-item list. Prints medians (and the spread) as JSON lines.
"""

import os
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "python"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from longreach._threads import AGENT_THREAD_IDS  # noqa: E402
from longreach.errors import LongreachError  # noqa: E402
from longreach.session import DebugSession  # noqa: E402

REPS = int(os.environ.get("BENCH_REPS", "15"))


def scene(data, release):
    big6 = data["big6"]
    floats = data["floats"]
    df = data["df"]
    w = data["w"]
    y = w + 1
    zero_d = torch.tensor(3.5)
    meta = torch.empty(1000, 1000, device="meta")
    rec = np.zeros(1000, dtype=[("x", "<i4"), ("y", "<f8")])
    items = data["items"]
    return big6, floats, df, y, zero_d, meta, rec, items  # BENCH-STOP


def line_of(marker):
    with open(os.path.abspath(__file__)) as f:
        for i, text in enumerate(f, 1):
            if text.rstrip().endswith(marker):
                return i


class Driver(object):
    def __init__(self):
        AGENT_THREAD_IDS.add(threading.get_ident())
        self.events = []
        self.cond = threading.Condition()
        self.session = DebugSession(self.send, "127.0.0.1:1", {"redirect_output": False, "is_tls": False})
        self.session.handle("attach", {})
        self.session.started()

    def send(self, message):
        with self.cond:
            self.events.append(message)
            self.cond.notify_all()

    def wait_stopped(self):
        with self.cond:
            while not any(m.get("event") == "stopped" for m in self.events):
                self.cond.wait(30)
        return [m for m in self.events if m.get("event") == "stopped"][0]["body"]

    def req(self, command, **args):
        return self.session.handle(command, args)

    def timed(self, command, **args):
        t0 = time.perf_counter()
        body = self.session.handle(command, args)
        return (time.perf_counter() - t0) * 1000.0, body


def summary(name, samples, target, unit="ms"):
    med = statistics.median(samples)
    return {"figure": name, "median_ms": round(med, 2), "min_ms": round(min(samples), 2),
            "max_ms": round(max(samples), 2), "reps": len(samples), "target": target}


def main():
    data = {
        "big6": np.zeros((6,) * 10, dtype=np.float32),
        "floats": np.zeros(100 * 1000 * 1000, dtype=np.float32),
        "df": pd.DataFrame({"a": np.arange(5 * 1000 * 1000, dtype=np.int64),
                            "b": np.random.default_rng(1).random(5 * 1000 * 1000)}),
        "w": torch.randn(4096, 1024, requires_grad=True),
        "items": list(range(10 * 1000 * 1000)),
    }
    d = Driver()
    d.req("setBreakpoints", source={"path": os.path.abspath(__file__)}, breakpoints=[{"line": line_of("BENCH-STOP")}])
    d.req("configurationDone")
    release = threading.Event()
    t = threading.Thread(target=scene, args=(data, release), name="scene", daemon=True)
    t.start()
    stop = d.wait_stopped()
    fid = d.req("stackTrace", threadId=stop["threadId"], levels=1)["stackFrames"][0]["id"]
    time.sleep(float(os.environ.get("BENCH_SETTLE", "0")))
    out = []

    # 1. the first variables page of the frame's locals (all the values above), scopes included
    first = []
    for i in range(REPS):
        t0 = time.perf_counter()
        ref = d.req("scopes", frameId=fid)["scopes"][0]["variablesReference"]
        variables = d.req("variables", variablesReference=ref)["variables"]
        first.append((time.perf_counter() - t0) * 1000.0)
    assert any(v["name"] == "df" and v["value"].startswith("DataFrame 5,000,000 rows") for v in variables)
    out.append(summary("first variables page (locals: 6^10 array, 100M array, 5M-row DataFrame, tensors, 10M list)",
                       first, "<= 50 ms"))
    out[-1]["cold_ms"] = round(first[0], 2)

    # 2. a summary through evaluate
    ev = []
    for i in range(REPS):
        for expr in ("df", "big6", "y"):
            ms, body = d.timed("evaluate", expression=expr, frameId=fid, context="watch")
            ev.append(ms)
    out.append(summary("summary through evaluate (df, big6, y)", ev, "<= 50 ms"))

    # 3. a 100-row window of the 5M-row DataFrame: the table request and a DAP variables page of 100 rows
    win, page = [], []
    df_ref = [v for v in variables if v["name"] == "df"][0]["variablesReference"]
    for i in range(REPS):
        start = 100000 * (i + 1)
        ms, body = d.timed("longreach/table", expression="df", frameId=fid, start=start, rows=100)
        assert len(body["rows"]) == 100
        win.append(ms)
        ms, body = d.timed("variables", variablesReference=df_ref, filter="indexed", start=start, count=100)
        assert len(body["variables"]) == 100
        page.append(ms)
    out.append(summary("100-row window of a 5M-row DataFrame (longreach/table)", win, "<= 50 ms"))
    out.append(summary("100-row page of a 5M-row DataFrame (DAP variables, indexed)", page, "<= 50 ms"))

    # 4. interrupting a runaway evaluation: the time past its budget
    os.environ["LONGREACH_EVAL_BUDGET"] = "1"
    over = []
    for i in range(max(3, REPS // 3)):
        t0 = time.perf_counter()
        try:
            d.req("evaluate", expression="while True: pass", frameId=fid, context="repl")
            raise AssertionError("not interrupted")
        except LongreachError as e:
            assert e.code == "LR_EVAL_BUDGET" and "interrupted" in e.message, e.message
        over.append((time.perf_counter() - t0) * 1000.0 - 1000.0)
        assert d.req("evaluate", expression="1 + 1", frameId=fid, context="watch")["result"] == "2"
    out.append(summary("interrupting `while True: pass` past its 1 s budget (time beyond the budget)", over,
                       "<= 100 ms"))

    d.req("continue")
    t.join(10)
    return out


if __name__ == "__main__":
    import json
    for row in main():
        print(json.dumps(row))
