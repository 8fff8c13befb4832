"""What a terminate does in a process besides its debug session's own part (session/core.py on_terminate): hooks the
job room fills, so that neither room imports the other.

- `interrupt_blocked_main`: set where the process has our handler of the job's wake signal (job/wakeup.py): raises
  an exception type in the main thread even while it is blocked in a call (the signal interrupts the call). The
  terminate's exception otherwise reaches a main thread only between two lines of Python.
- `before_forced_exit`: run when a terminated program still running after its grace is ended with os._exit (the
  root of a killed job ends the job's other processes there, job/gateway.py).
"""

interrupt_blocked_main = [None]
before_forced_exit = []
