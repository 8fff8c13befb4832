"""Variables: paging without O(n) work, lengths, bounded and time-bounded reprs, references."""

import threading
import unittest

from tests import tracer_support  # noqa: F401
from longreach.session.budget import Job
from longreach.session.variables import MAX_REPR, Refs, Renderer

RELEASE = threading.Event()


def thread_runner(fn, timeout):
    """Stand-in for the coordinator: user code on another thread, under the same budget (interrupted past it)."""
    job = Job(fn)
    t = threading.Thread(target=job.run, daemon=True)
    t.start()
    return job.wait(timeout)


class Raises(object):
    def __repr__(self):
        raise RuntimeError("no repr for you")


class Hangs(object):
    def __repr__(self):
        RELEASE.wait(30)
        return "finally"


class Spins(object):
    unwound = 0

    def __repr__(self):
        try:
            while True:
                pass
        finally:
            Spins.unwound += 1


class Huge(object):
    def __repr__(self):
        return "x" * (20 * 1024 * 1024)


class NotStr(object):
    def __repr__(self):
        return 42


class Point(object):
    def __init__(self):
        self.x, self.y = 1, 2


class Slotted(object):
    __slots__ = ("a", "b")

    def __init__(self):
        self.a = 1


class CountingList(list):
    """A list that counts element reads, to prove a page does not touch the whole list."""
    reads = 0

    def __getitem__(self, i):
        CountingList.reads += 1
        return list.__getitem__(self, i)


class VariablesTest(unittest.TestCase):
    def setUp(self):
        self.refs = Refs()
        self.r = Renderer(self.refs, thread_runner)

    @classmethod
    def tearDownClass(cls):
        RELEASE.set()

    def test_first_page_of_ten_million(self):
        big = list(range(10 * 1000 * 1000))
        v = self.r.make([("big", big, "big")])[0]
        self.assertEqual(v["indexedVariables"], 10 * 1000 * 1000)
        self.assertLess(len(v["value"]), 2 * MAX_REPR)
        kids = self.r.children(big, "big", 0, 100)
        self.assertEqual([k["name"] for k in kids[:3]], ["0", "1", "2"])
        self.assertEqual(len(kids), 100)
        self.assertEqual(kids[5]["evaluateName"], "big[5]")
        page = self.r.children(big, "big", 9999990, 100)
        self.assertEqual([k["value"] for k in page][-1], "9999999")

    def test_page_touches_only_the_page(self):
        CountingList.reads = 0
        lst = CountingList(range(100000))
        self.r.children(lst, "lst", 50, 20)
        self.assertEqual(CountingList.reads, 20)

    def test_dict_and_set_paging(self):
        d = dict(("k%d" % i, i) for i in range(1000))
        v = self.r.make([("d", d, "d")])[0]
        self.assertEqual(v["indexedVariables"], 1000)
        kids = self.r.children(d, "d", 10, 5)
        self.assertEqual([k["name"] for k in kids], ["'k10'", "'k11'", "'k12'", "'k13'", "'k14'"])
        self.assertEqual(kids[0]["evaluateName"], "d['k10']")
        s = set(range(50))
        self.assertEqual(len(self.r.children(s, "s", 0, 10)), 10)

    def test_tuple_and_nested(self):
        t = (1, [2, 3], {"a": (4,)})
        self.assertEqual(self.r.repr1(t), "(1, [2, 3], {'a': (4,)})")
        kids = self.r.children(t, "t", 0, 0)
        self.assertEqual(kids[1]["indexedVariables"], 2)
        self.assertNotEqual(kids[1]["variablesReference"], 0)
        self.assertEqual(kids[0]["variablesReference"], 0)

    def test_object_attributes_and_slots(self):
        p = Point()
        v = self.r.make([("p", p, "p")])[0]
        self.assertEqual(v["namedVariables"], 2)
        self.assertEqual([(k["name"], k["value"]) for k in self.r.children(p, "p", 0, 0)], [("x", "1"), ("y", "2")])
        kids = self.r.children(Slotted(), "s", 0, 0)
        self.assertEqual([k["name"] for k in kids], ["a", "b"])
        self.assertIn("AttributeError", kids[1]["value"])

    def test_hostile_reprs(self):
        reps = self.r.reprs([Raises(), Huge(), NotStr(), "y" * 100000, 10 ** 5000, b"z" * 100000])
        self.assertIn("repr raised RuntimeError: no repr for you", reps[0])
        self.assertLess(len(reps[1]), MAX_REPR + 40)
        self.assertIn("non-string", reps[2])
        self.assertLess(len(reps[3]), MAX_REPR + 40)
        self.assertIn("bits", reps[4])
        self.assertLess(len(reps[5]), MAX_REPR + 40)

    def test_hanging_repr_is_cut_off(self):
        # blocked in a lock's wait (native code): it cannot be interrupted, and the other values still show
        reps = self.r.reprs([Hangs(), 5])
        self.assertIn("still running in native code", reps[0])
        self.assertEqual(reps[1], "5")

    def test_spinning_repr_is_interrupted_and_the_rest_shown(self):
        reps = self.r.reprs([Spins(), Point(), Spins(), [1, 2]])
        self.assertIn("ran past the 1 s budget and was interrupted", reps[0])
        self.assertIn("Point object", reps[1])
        self.assertIn("interrupted", reps[2])
        self.assertEqual(reps[3], "[1, 2]")
        self.assertEqual(Spins.unwound, 2)  # its finally block ran: interrupted by an exception

    def test_refs_clear(self):
        ref = self.refs.add("value", [1])
        self.assertIsNotNone(self.refs.get(ref))
        self.refs.clear()
        self.assertIsNone(self.refs.get(ref))

    def test_mapping_scope(self):
        out = self.r.mapping({"a": 1, "__builtins__": {}, "b": "s"}, 0, 0, skip=("__builtins__",))
        self.assertEqual([(v["name"], v["value"]) for v in out], [("a", "1"), ("b", "'s'")])


if __name__ == "__main__":
    unittest.main()
