"""Benchmark workloads. Lines the runner puts breakpoints on are marked `# B:name`; each workload names its hot
function's never-reached line and its every-time line (for the false conditional breakpoint)."""

import json
import re
import threading

SCALE = {"call": 29, "loop": 3000000, "stdlib": 8000, "threaded": 27}
WARMUP = {"call-heavy": 18, "loop-heavy": 100000, "stdlib-heavy": 200, "threaded": 16}


def fib(n):
    if n < 0:  # B:fib_cond
        n = -n  # B:fib_never
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def never_called():
    return "this function is never called"  # B:elsewhere


def call_heavy(scale=None):
    return fib(scale or SCALE["call"])


def loop_heavy(scale=None):
    total = 0
    for i in range(scale or SCALE["loop"]):
        total += (i * i) % 7  # B:loop_cond
        if total < 0:
            total = 0  # B:loop_never
    return total


_WORD = re.compile(r"[a-z]+")


def stdlib_heavy(scale=None):
    out = 0
    doc = {"name": "longreach", "items": list(range(40)), "nested": {"a": [1.5, 2.5], "b": "text " * 8}}
    for i in range(scale or SCALE["stdlib"]):
        text = json.dumps(doc, sort_keys=True)  # B:stdlib_cond
        back = json.loads(text)
        out += len(_WORD.findall(text)) + len(sorted(back["items"], reverse=True))
        if out < 0:
            out = 0  # B:stdlib_never
    return out


def threaded(scale=None):
    results = []
    threads = [threading.Thread(target=lambda: results.append(fib(scale or SCALE["threaded"]))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(results)


WORKLOADS = {
    # name: (function, hot never-reached marker, hot every-time marker)
    "call-heavy": (call_heavy, "fib_never", "fib_cond"),
    "loop-heavy": (loop_heavy, "loop_never", "loop_cond"),
    "stdlib-heavy": (stdlib_heavy, "stdlib_never", "stdlib_cond"),
    "threaded": (threaded, "fib_never", "fib_cond"),
}


# ---- latency probes ----
def big_list():
    big = list(range(10 * 1000 * 1000))
    size = len(big)  # B:big
    acc = 0
    for i in range(100):
        acc += i  # B:step
    return size + acc


def deep(n):
    if n == 0:
        return 0  # B:deep
    return deep(n - 1) + 1


def latency_probe():
    d = deep(900)  # first: freeing the 10M list below costs ~180 ms of the program's own time
    return big_list() + d


def marker(name):
    with open(__file__) as f:
        for i, text in enumerate(f, 1):
            if text.rstrip().endswith("# B:" + name):
                return i
    raise KeyError(name)
