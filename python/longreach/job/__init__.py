"""Whole jobs: the processes a debugged program starts, reached through the one address of the process the user
started (docs/protocol.md section 5.3).

The root process runs a `Gateway` (gateway.py): a Unix socket in a private directory (mode 0700) that the job's
other processes dial into with a per-job token, and the relay that joins a client who selected one of them
(`?pid=`) to that process's agent. Every other process of the job is a `Member` (member.py): it registers, answers
the gateway's questions (who are you, what is your label) and opens a session socket when a client selects it.
Children find the gateway through the environment (config.py: LONGREACH_JOB and a PYTHONPATH entry whose
sitecustomize.py boots the member before user code); forked children through an at-fork hook.

This room may import wire and the base (errors, log, processinfo, _threads); the public face wires it to the API.
"""
