"""Workloads of the jobs benchmark (bench/python/jobs.py).

    job_workload.py relay          root: enable_attach on port 0, start one child (subprocess of sys.executable);
                                   prints PORT p and CHILD pid; both spin in spin() until killed
    job_workload.py spin           the child of `relay`
    job_workload.py idle16 [agent] 16 processes (multiprocessing, fork) each doing the same fixed CPU work (JOB_WORK
                                   rounds, default 1,500,000); prints TIME seconds from the first start to the last
                                   end, CPU seconds and minor page FAULTS of the job (with `agent`: under
                                   enable_attach, nobody attached)
"""

import multiprocessing
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                "python"))


def spin():
    n = 0
    while True:
        n += 1  # the step benchmark's breakpoint
        n -= 1
        time.sleep(0)


def work(_):
    total = 0
    for i in range(int(os.environ.get("JOB_WORK", "1500000"))):
        total += i * i % 7
    return total


def job_cpu():
    """CPU seconds of the whole job so far (this process and its ended children): what the agent costs, whatever
    else the machine is doing at the same time."""
    return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


def job_faults():
    """Minor page faults of the whole job so far: pages first written, zero-filled, or copied after a fork (what a
    forked child pays most of its start in, on a machine where a fault is dear)."""
    return sum(u.ru_minflt for u in (resource.getrusage(resource.RUSAGE_SELF),
                                     resource.getrusage(resource.RUSAGE_CHILDREN)))


def main():
    mode = sys.argv[1]
    if mode == "relay":
        import longreach
        _, port = longreach.enable_attach("bench-secret", ("127.0.0.1", 0))
        child = subprocess.Popen([sys.executable, os.path.abspath(__file__), "spin"])
        print("PORT %d" % port)
        print("CHILD %d" % child.pid, flush=True)
        spin()
    elif mode == "spin":
        spin()
    elif mode == "idle16":
        if len(sys.argv) > 2:
            import longreach
            longreach.enable_attach("bench-secret", ("127.0.0.1", 0))
        ctx = multiprocessing.get_context("fork")
        started, cpu_started, faults_started = time.perf_counter(), job_cpu(), job_faults()
        procs = [ctx.Process(target=work, args=(i,)) for i in range(16)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        elapsed = time.perf_counter() - started
        print("TIME %.6f CPU %.6f FAULTS %d" % (elapsed, job_cpu() - cpu_started, job_faults() - faults_started),
              flush=True)


if __name__ == "__main__":
    main()
