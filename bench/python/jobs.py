"""Benchmark of jobs (docs/protocol.md 5.3) for the interpreter running this script.

    python bench/python/jobs.py [--reps N] [--steps N] [--work N] [--json]

1. Step round trip (`next` -> `stopped`) in a process of a job reached directly (the root alone, `?pid=` of
   itself, on its own port) and through the gateway's relay (`?pid=`: the root's port, longreach/selectProcess, the child's agent behind a Unix
   socket): medians side by side and the difference.
2. An idle 16-process job (multiprocessing fork, fixed CPU work each) with the agent listening and nobody attached,
   against the same job without the agent: median of the ratio over repetitions, in wall time and in CPU seconds
   of the whole job (the latter barely moves when other work shares the machine), and the page faults a process of
   the job makes without the agent and adds with it (what a short-lived forked child's start mostly costs).
3. What a page copied after a fork costs on this machine now, measured between the repetitions, and the share of a
   child's CPU time the agent's extra faults come to at that price: the figure to read the ratio of 2 by.
"""

import base64
import json
import os
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench import Client, read_line  # noqa: E402
from longreach.wire import auth  # noqa: E402

WORKLOAD = os.path.join(HERE, "job_workload.py")


def _break_line():
    with open(WORKLOAD) as source:
        for number, line in enumerate(source, 1):
            if "# the step benchmark's breakpoint" in line:
                return number
    raise RuntimeError("no breakpoint line in " + WORKLOAD)


BREAK_LINE = _break_line()


def session(port, pid=None):
    client = Client(port)
    init = client.request("initialize", {"adapterID": "bench", "longreachProtocol": 1})
    nonce = base64.b64decode(init["longreach"]["nonce"])
    client_nonce = os.urandom(32)
    client.request("authenticate", {"clientNonce": auth.b64(client_nonce),
                                    "proof": auth.client_proof("bench-secret", nonce, client_nonce)})
    if pid is not None:
        client.request("longreach/selectProcess", {"pid": pid})
    client.request("attach", {"redirectOutput": False})
    # a running program may stop as soon as the breakpoint is set: keep that event while waiting for responses
    seqs = [client.send("setBreakpoints", {"source": {"path": WORKLOAD}, "breakpoints": [{"line": BREAK_LINE}]}),
            client.send("configurationDone")]
    thread = None
    while seqs or thread is None:
        m = client.next_message()
        if m.get("type") == "response" and m.get("request_seq") in seqs:
            seqs.remove(m["request_seq"])
        elif m.get("type") == "event" and m.get("event") == "stopped":
            thread = m["body"]["threadId"]
    client.request("setBreakpoints", {"source": {"path": WORKLOAD}, "breakpoints": []})
    return client, thread


def wait_joined(port, pid, limit=30.0):
    """Until the child has joined the job (it does once it has run for a second; docs/protocol.md 5.3)."""
    deadline = time.monotonic() + limit
    while True:
        client = Client(port)
        try:
            init = client.request("initialize", {"adapterID": "bench", "longreachProtocol": 1})
            nonce = base64.b64decode(init["longreach"]["nonce"])
            client_nonce = os.urandom(32)
            client.request("authenticate", {"clientNonce": auth.b64(client_nonce),
                                            "proof": auth.client_proof("bench-secret", nonce, client_nonce)})
            client.request("longreach/selectProcess", {"pid": pid})
            return
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
        finally:
            client.close()


def step_times(port, pid, steps):
    client, thread = session(port, pid)
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        client.send("next", {"threadId": thread})
        client.event("stopped")
        times.append(time.perf_counter() - started)
    client.request("disconnect", {})
    client.close()
    return times


def relay_figures(steps):
    proc = subprocess.Popen([sys.executable, WORKLOAD, "relay"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child = None
    try:
        port = int(read_line(proc, "PORT"))
        child = int(read_line(proc, "CHILD"))
        wait_joined(port, child)
        direct, relayed = [], []
        for _ in range(3):  # interleaved, so load on the machine hits both alike
            direct += step_times(port, proc.pid, steps)  # ?pid= of the root: that process alone
            relayed += step_times(port, child, steps)
        return statistics.median(direct) * 1000, statistics.median(relayed) * 1000
    finally:
        proc.kill()
        proc.wait()
        if child is not None:
            try:
                os.kill(child, signal.SIGKILL)  # the root's child spins on by itself: it must not outlive the run
            except OSError:
                pass


def idle_time(agent, work):
    args = [sys.executable, WORKLOAD, "idle16"] + (["agent"] if agent else [])
    env = dict(os.environ, JOB_WORK=str(work))
    out = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True, env=env).stdout.decode()
    return (float(out.split("TIME", 1)[1].split()[0]), float(out.split("CPU", 1)[1].split()[0]),
            int(out.split("FAULTS", 1)[1].split()[0]))



def fault_cost_us(pages=20000):
    """What one page copied after a fork costs here now, in microseconds of CPU: a forked child writes a byte in each
    of `pages` pages it shares with its parent, then again once they are its own; the difference a fault. The
    agent's cost in a job of short forked children is mostly its extra faults times this (which this VM has shown
    between 1 and 60 us from one day to the next)."""
    import mmap
    import resource
    area = mmap.mmap(-1, pages * 4096)
    for i in range(pages):
        area[i * 4096] = 1
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        started = time.process_time()
        for i in range(pages):
            area[i * 4096] = 2
        copied = time.process_time() - started
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
        started = time.process_time()
        for i in range(pages):
            area[i * 4096] = 3
        plain = time.process_time() - started
        os.write(writer, ("%f" % ((copied - plain) / max(faults, 1) * 1e6)).encode())
        os._exit(0)
    os.close(writer)
    said = os.read(reader, 100)
    os.close(reader)
    os.waitpid(pid, 0)
    area.close()
    return float(said)


def main(argv):
    reps = int(argv[argv.index("--reps") + 1]) if "--reps" in argv else 5
    steps = int(argv[argv.index("--steps") + 1]) if "--steps" in argv else 100
    # each child's loop: 1,500,000 rounds is about 80 ms of CPU on CPython 3.11 here (a short job, where what every
    # process pays once shows); 40,000,000 about 2 s (processes that work, as a DataLoader's or a rank's do)
    work = int(argv[argv.index("--work") + 1]) if "--work" in argv else 1500000
    direct, relayed = relay_figures(steps)
    ratios, cpu_ratios, plain_faults, extra_faults, fault_costs, child_cpu = [], [], [], [], [], []
    for _ in range(reps):  # none, agent, none: the agent's run is compared with the mean of its neighbours
        before, with_agent, after = idle_time(False, work), idle_time(True, work), idle_time(False, work)
        fault_costs.append(fault_cost_us())
        child_cpu.append((before[1] + after[1]) / 2 / 16)
        ratios.append(with_agent[0] / ((before[0] + after[0]) / 2))
        cpu_ratios.append(with_agent[1] / ((before[1] + after[1]) / 2))
        plain_faults.append((before[2] + after[2]) / 2 / 16)
        extra_faults.append(with_agent[2] / 16 - plain_faults[-1])
    result = {"python": sys.version.split()[0], "implementation": sys.implementation.name,
              "stepDirectMs": round(direct, 3), "stepRelayMs": round(relayed, 3),
              "relayCostMs": round(relayed - direct, 3), "idle16Ratio": round(statistics.median(ratios), 3),
              "idle16CpuRatio": round(statistics.median(cpu_ratios), 3), "idle16Work": work,
              "idle16FaultsPerProcess": round(statistics.median(plain_faults), 1),
              "idle16ExtraFaultsPerProcess": round(statistics.median(extra_faults), 1),
              "faultCostUs": round(statistics.median(fault_costs), 2),
              "idle16ChildCpuMs": round(statistics.median(child_cpu) * 1000, 1)}
    # what the extra faults alone would cost a child, as a share of its CPU time without the agent
    result["idle16FaultShare"] = round(result["idle16ExtraFaultsPerProcess"] * result["faultCostUs"] / 1000
                                       / result["idle16ChildCpuMs"], 4)
    if "--json" in argv:
        print(json.dumps(result))
        return
    print("%s %s" % (sys.implementation.name, result["python"]))
    print("  step round trip, direct           %8.3f ms" % direct)
    print("  step round trip, through relay    %8.3f ms   (+%.3f ms; target <= +1 ms)" % (relayed,
                                                                                          relayed - direct))
    print("  idle 16-process job, agent / none %8.3fx     (target <= 1.02x; median of %d; wall time; %d rounds a "
          "child)" % (result["idle16Ratio"], reps, work))
    print("                    CPU time of the job %8.3fx     (the same, counted in CPU seconds: steadier on a busy "
          "machine)" % result["idle16CpuRatio"])
    print("  page faults of a process, none / +agent %6.1f / %+.1f  (medians; the job's minor faults over its 16 "
          "processes: where a forked child's start goes)" % (result["idle16FaultsPerProcess"],
                                                              result["idle16ExtraFaultsPerProcess"]))
    print("  a page copied after a fork costs %.2f us here now: the agent's extra faults are %.1f%% of a child's "
          "%.0f ms of CPU" % (result["faultCostUs"], result["idle16FaultShare"] * 100, result["idle16ChildCpuMs"]))


if __name__ == "__main__":
    main(sys.argv[1:])
