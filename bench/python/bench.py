"""Benchmark of the Python agent's cost, for the interpreter running this script.

    python bench/python/bench.py [--reps N] [--workloads a,b] [--json]

Each repetition runs every scenario once, in a fresh process, right after a plain run (no agent) of the same
workload; the figure per scenario is the median over repetitions of (scenario time / its plain run time), for the
wall time and for the CPU time of the whole process (all its threads: the agent's count too). The CPU time moves
far less than the wall time when other work shares the machine.
Scenarios: listening with no client; attached with no breakpoints; a breakpoint in a function never called; a
breakpoint in the hot function on a line never reached; a false conditional breakpoint on a line of the hot
function run every time. Attaching goes through the real server over a real socket (initialize, authenticate,
attach, setBreakpoints, configurationDone). Then latencies: attach, step round trip, first variables page of a
10-million-element list, stackTrace of a 900-deep recursion.
"""

import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "python"))

from longreach.wire import auth, framing as wire  # noqa: E402
import workloads  # noqa: E402

SECRET = "bench-secret"
WORKLOAD_FILE = os.path.abspath(workloads.__file__)
SCENARIOS = ["listening, no client", "attached, no breakpoints", "breakpoint in a function never called",
             "breakpoint in the hot function, line never reached", "false conditional breakpoint in the hot function"]


class Client(object):
    def __init__(self, port, timeout=60.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.decoder = wire.FrameDecoder(body_limit=1 << 30, authenticated=True)
        self.seq = 0
        self.pending = []

    def send(self, command, arguments=None):
        self.seq += 1
        self.sock.sendall(wire.encode({"seq": self.seq, "type": "request", "command": command,
                                       "arguments": arguments or {}}))
        return self.seq

    def next_message(self):
        while not self.pending:
            data = self.sock.recv(1 << 20)
            if not data:
                raise EOFError("agent closed the connection")
            self.pending.extend(self.decoder.feed(data))
        return self.pending.pop(0)

    def wait(self, pred):
        while True:
            m = self.next_message()
            if pred(m):
                return m

    def request(self, command, arguments=None):
        seq = self.send(command, arguments)
        m = self.wait(lambda m: m.get("type") == "response" and m.get("request_seq") == seq)
        if not m.get("success"):
            raise RuntimeError("%s failed: %r" % (command, m))
        return m.get("body") or {}

    def event(self, name):
        return self.wait(lambda m: m.get("type") == "event" and m.get("event") == name)["body"]

    def attach(self, breakpoints=(), conditions=None, before_done=None):
        """initialize + authenticate + attach + setBreakpoints + configurationDone."""
        init = self.request("initialize", {"adapterID": "bench", "longreachProtocol": 1})
        nonce = base64.b64decode(init["longreach"]["nonce"])
        client_nonce = os.urandom(32)
        self.request("authenticate", {"clientNonce": auth.b64(client_nonce),
                                      "proof": auth.client_proof(SECRET, nonce, client_nonce)})
        self.request("attach", {"redirectOutput": False})
        if breakpoints:
            bps = [dict({"line": workloads.marker(m)}, **({"condition": conditions[m]} if conditions and
                                                          m in conditions else {})) for m in breakpoints]
            body = self.request("setBreakpoints", {"source": {"path": WORKLOAD_FILE}, "breakpoints": bps})
            assert all(b["verified"] for b in body["breakpoints"]), body
        if before_done is not None:
            before_done(self)
        self.request("configurationDone")

    def close(self):
        self.sock.close()


def spawn(mode, workload, env=None):
    return subprocess.Popen([sys.executable, os.path.join(HERE, "child.py"), mode, workload],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ, **(env or {})))


def big_module():
    """Path of the generated 3,000-line module (written once per run)."""
    import tempfile
    path = os.path.join(tempfile.gettempdir(), "longreach-bench-big-%d.py" % os.getpid())
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(workloads.big_module_source())
    return path


def read_line(proc, prefix):
    while True:
        line = proc.stdout.readline().decode()
        if not line:
            raise RuntimeError("child ended early: %s" % proc.stderr.read().decode()[-2000:])
        if line.startswith(prefix):
            return line.split(None, 1)[1].strip()


def run_once(workload, scenario):
    """(wall, CPU) seconds the workload took in one fresh process under `scenario` (None = plain)."""
    hot_never, hot_every = workloads.WORKLOADS[workload][1:]
    if scenario is None or scenario == SCENARIOS[0]:
        proc = spawn("plain" if scenario is None else "listen", workload)
        t = [float(x) for x in read_line(proc, "TIME").split()]
        proc.wait(60)
        return t
    proc = spawn("attach", workload)
    port = int(read_line(proc, "PORT"))
    client = Client(port)
    bps = {SCENARIOS[1]: [], SCENARIOS[2]: ["elsewhere"], SCENARIOS[3]: [hot_never],
           SCENARIOS[4]: [hot_every]}[scenario]
    client.attach(bps, {hot_every: "n == -12345" if "fib" in hot_every else "i == -1"})
    t = [float(x) for x in read_line(proc, "TIME").split()]
    client.close()
    proc.wait(60)
    return t


def ratios(workload, reps):
    """Median (wall ratio, CPU ratio) per scenario."""
    wall, cpu = dict((s, []) for s in SCENARIOS), dict((s, []) for s in SCENARIOS)
    for _ in range(reps):
        for s in SCENARIOS:
            base = run_once(workload, None)
            t = run_once(workload, s)
            wall[s].append(t[0] / base[0])
            cpu[s].append(t[1] / base[1])
    return (dict((s, statistics.median(v)) for s, v in wall.items()),
            dict((s, statistics.median(v)) for s, v in cpu.items()))


def latencies(reps):
    """Medians in milliseconds over `reps` fresh processes."""
    found = {"attach (connect+auth+configurationDone)": [], "stackTrace of a 900-deep recursion": [],
             "first variables page of a 10M list": [], "later variables pages of a 10M list": [],
             "step round trip": [], "setBreakpoints in a 3,000-line module, first": [],
             "setBreakpoints in a 3,000-line module, changed": []}
    big = big_module()
    for _ in range(reps):
        proc = spawn("attach", "latency", {"LONGREACH_BENCH_BIG": big})
        port = int(read_line(proc, "PORT"))
        started = time.perf_counter()
        client = Client(port)
        changes = {}

        def change_breakpoints(c):
            """Conditional breakpoints in the middle of the 3,000-line module: the first (its source read, checked
            and compiled in) and a change of it (the same function compiled again)."""
            begun = time.perf_counter()
            for key, k in (("first", 150), ("changed", 151)):
                t0 = time.perf_counter()
                body = c.request("setBreakpoints", {"source": {"path": big}, "breakpoints": [
                    {"line": workloads.big_module_line(k), "condition": "i == -1"}]})
                changes[key] = (time.perf_counter() - t0) * 1000
                assert body["breakpoints"][0]["verified"], body
            c.request("setBreakpoints", {"source": {"path": big}, "breakpoints": []})
            changes["all"] = (time.perf_counter() - begun) * 1000
        client.attach(["deep"], before_done=change_breakpoints)
        found["attach (connect+auth+configurationDone)"].append((time.perf_counter() - started) * 1000
                                                                 - changes.pop("all"))
        for key, ms in changes.items():
            found["setBreakpoints in a 3,000-line module, " + key].append(ms)
        stop = client.event("stopped")
        t0 = time.perf_counter()
        stack = client.request("stackTrace", {"threadId": stop["threadId"]})
        found["stackTrace of a 900-deep recursion"].append((time.perf_counter() - t0) * 1000)
        assert stack["totalFrames"] >= 900, stack["totalFrames"]
        client.request("setBreakpoints", {"source": {"path": WORKLOAD_FILE},
                                          "breakpoints": [{"line": workloads.marker("big")}]})
        client.request("continue", {"threadId": stop["threadId"]})
        stop = client.event("stopped")
        tid = stop["threadId"]
        frame = client.request("stackTrace", {"threadId": tid, "levels": 1})["stackFrames"][0]
        scope = client.request("scopes", {"frameId": frame["id"]})["scopes"][0]
        local = dict((v["name"], v) for v in client.request(
            "variables", {"variablesReference": scope["variablesReference"]})["variables"])
        pages = []
        for i in range(6):
            t0 = time.perf_counter()
            page = client.request("variables", {"variablesReference": local["big"]["variablesReference"],
                                                "start": i * 100, "count": 100})
            pages.append((time.perf_counter() - t0) * 1000)
            assert len(page["variables"]) == 100
        found["first variables page of a 10M list"].append(pages[0])
        found["later variables pages of a 10M list"].append(statistics.median(pages[1:]))
        client.request("setBreakpoints", {"source": {"path": WORKLOAD_FILE}, "breakpoints": []})
        steps = []
        for _ in range(20):
            t0 = time.perf_counter()
            client.send("next", {"threadId": tid})
            client.event("stopped")
            steps.append((time.perf_counter() - t0) * 1000)
        found["step round trip"].append(statistics.median(steps))
        client.request("continue", {"threadId": tid})
        client.close()
        proc.wait(60)
    return dict((k, statistics.median(v)) for k, v in found.items())


def runtime_name():
    impl = sys.implementation
    if impl.name == "pypy":
        v = sys.pypy_version_info
        return "PyPy %d.%d.%d (Python %d.%d.%d)" % (v[0], v[1], v[2], *sys.version_info[:3])
    return "CPython %d.%d.%d" % sys.version_info[:3]


def main(argv):
    reps = 5
    names = list(workloads.WORKLOADS)
    as_json = "--json" in argv
    if "--reps" in argv:
        reps = int(argv[argv.index("--reps") + 1])
    if "--workloads" in argv:
        names = argv[argv.index("--workloads") + 1].split(",")
    result = {"runtime": runtime_name(), "reps": reps, "ratios": {}, "cpu_ratios": {}, "latency_ms": {}}
    for w in names:
        result["ratios"][w], result["cpu_ratios"][w] = ratios(w, reps)
    result["latency_ms"] = latencies(max(3, reps))
    if as_json:
        print(json.dumps(result))
        return 0
    width = max(len(s) for s in SCENARIOS)
    for key, what in (("ratios", "wall time"), ("cpu_ratios", "CPU time of the process")):
        print("%s, median of %d interleaved repetitions (scenario / plain, %s)" % (result["runtime"], reps, what))
        print("  %-*s  %s" % (width, "", "  ".join("%12s" % w for w in names)))
        for s in SCENARIOS:
            print("  %-*s  %s" % (width, s, "  ".join("%11.3fx" % result[key][w][s] for w in names)))
    for k, v in result["latency_ms"].items():
        print("  %-45s %8.2f ms" % (k, v))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
