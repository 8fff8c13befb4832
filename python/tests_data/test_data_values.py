"""Data values with the real libraries (Debian's python3-numpy, python3-pandas, python3-torch on /usr/bin/python3;
scripts/test-python.mjs runs this suite there as the `data` target): summaries, paging, lazy statistics, row
windows, statistics requests, and that no summary or page allocates more than a few MB inside the program."""

import tracemalloc
import unittest

import numpy as np
import pandas as pd
import torch

from longreach.errors import LongreachError
from tests.session_support import Harness

MB = 1000 * 1000


def _line(marker):
    with open(__file__.replace(".pyc", ".py")) as f:
        for i, text in enumerate(f, 1):
            if text.rstrip().endswith("# D:" + marker):
                return i
    raise LookupError(marker)


def scene(data):
    big6 = data["big6"]
    floats = data["floats"]
    df = data["df"]
    w = data["w"]
    y = w * 2
    zero_d = torch.tensor(3.5)
    meta = torch.empty(1000, 1000, device="meta")
    rec = np.array([(1, 2.5), (3, 4.5)], dtype=[("x", "<i4"), ("y", "<f8")])
    param = torch.nn.Parameter(torch.ones(3))
    small = np.array([1.0, np.nan, np.inf, 4.0])
    return (big6, floats, df, w, y, zero_d, meta, rec, param, small)  # D:stop


class DataValues(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.data = {
            "big6": np.zeros((6,) * 10, dtype=np.float32),
            "floats": np.zeros(100 * 1000 * 1000, dtype=np.float32),  # calloc'd: untouched until read
            "df": pd.DataFrame({"a": np.arange(5 * 1000 * 1000, dtype=np.int64),
                                "b": np.linspace(0.0, 1.0, 5 * 1000 * 1000)}),
            "w": torch.linspace(-1.0, 1.0, 4096 * 1024).reshape(4096, 1024).requires_grad_(),
        }

    def setUp(self):
        self.h = Harness()
        self.h.request("setBreakpoints", {"source": {"path": __file__.replace(".pyc", ".py")},
                                          "breakpoints": [{"line": _line("stop")}]})
        t, self.result = self.h.start(scene, self.data)
        stop = self.h.wait_event("stopped")
        self.fid = self.h.top(stop["threadId"])["id"]
        self.addCleanup(t.join, 10)

    def tearDown(self):
        self.h.close()

    def req(self, command, **args):
        return self.h.request(command, args)

    def kids(self, ref, **args):
        return self.req("variables", variablesReference=ref, **args)["variables"]

    def test_locals_are_summaries(self):
        tracemalloc.start()
        try:
            loc = self.h.locals_of(self.fid)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertLess(peak, 4 * MB)
        v = lambda name: loc[name]["value"]
        self.assertEqual(v("big6"), "ndarray float32 (6, 6, 6, 6, 6, 6, 6, 6, 6, 6) 60.5M items 242 MB")
        self.assertEqual(loc["big6"]["indexedVariables"], 6)
        self.assertEqual(loc["big6"]["type"], "ndarray float32")
        self.assertEqual(loc["big6"]["presentationHint"], {"kind": "data"})
        self.assertEqual(v("floats"), "ndarray float32 (100000000,) 100M items 400 MB")
        self.assertEqual(v("df"), "DataFrame 5,000,000 rows \u00d7 2 columns (a int64, b float64) 80 MB")
        self.assertEqual(loc["df"]["indexedVariables"], 5000000)
        self.assertEqual(v("w"), "Tensor float32 [4096, 1024] cpu 4.19M items 16.8 MB requires_grad")
        self.assertEqual(v("y"), "Tensor float32 [4096, 1024] cpu 4.19M items 16.8 MB requires_grad "
                                 "grad_fn=MulBackward0")
        self.assertEqual(v("zero_d"), "Tensor float32 [] cpu 3.5")
        self.assertEqual(v("meta"), "Tensor float32 [1000, 1000] meta 1M items 4 MB")
        self.assertEqual(v("rec"), "ndarray [('x', '<i4'), ('y', '<f8')] (2,) 2 items 24 B")
        self.assertTrue(v("param").startswith("Parameter float32 [3] cpu 3 items 12 B requires_grad [1.0, 1.0, 1.0]"))
        self.assertEqual(v("small"), "ndarray float64 (4,) 4 items 32 B [1.0, nan, inf, 4.0] min=1 max=4 mean=2.5 "
                                     "std=1.5 nan=1 inf=1")

    def test_evaluate_gives_a_summary(self):
        body = self.req("evaluate", expression="df", frameId=self.fid, context="repl")
        self.assertEqual(body["result"], "DataFrame 5,000,000 rows \u00d7 2 columns (a int64, b float64) 80 MB")
        self.assertEqual(body["indexedVariables"], 5000000)
        body = self.req("evaluate", expression="big6[1, 2]", frameId=self.fid, context="hover")
        self.assertEqual(body["result"], "ndarray float32 (6, 6, 6, 6, 6, 6, 6, 6) 1.68M items 6.72 MB")

    def test_paging_arrays_frames_and_tensors(self):
        loc = self.h.locals_of(self.fid)
        tracemalloc.start()
        try:
            page = self.kids(loc["big6"]["variablesReference"], filter="indexed", start=2, count=2)
            rows = self.kids(loc["df"]["variablesReference"], filter="indexed", start=4999998, count=5)
            named = self.kids(loc["df"]["variablesReference"], filter="named")
            floats = self.kids(loc["floats"]["variablesReference"], filter="indexed", start=99999990, count=10)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertLess(peak, 4 * MB)
        self.assertEqual([p["name"] for p in page], ["2", "3"])
        self.assertEqual(page[0]["value"], "ndarray float32 (6, 6, 6, 6, 6, 6, 6, 6, 6) 10.1M items 40.3 MB")
        self.assertEqual(page[0]["evaluateName"], "big6[2]")
        self.assertEqual([r["name"] for r in rows], ["4999998", "4999999"])
        self.assertEqual(rows[1]["value"], "a=4999999, b=1")
        self.assertEqual(rows[1]["evaluateName"], "df.iloc[4999999]")
        cells = self.kids(rows[1]["variablesReference"])
        self.assertEqual([(c["name"], c["value"]) for c in cells], [("a", "int64 4999999"), ("b", "float64 1.0")])
        self.assertEqual([n["name"] for n in named], ["columns", "dtypes", "index", "shape"])
        self.assertEqual(named[0]["value"], "Index object 2 entries [a, b]")
        self.assertEqual(len(floats), 10)
        self.assertEqual(floats[0]["value"], "float32 0.0")
        tensor_rows = self.kids(loc["w"]["variablesReference"], filter="indexed", start=0, count=1)
        self.assertTrue(tensor_rows[0]["value"].startswith("Tensor float32 [1024] cpu 1024 items 4.1 kB "
                                                           "requires_grad grad_fn=SelectBackward0 min=-1"))
        recs = self.kids(loc["rec"]["variablesReference"], filter="indexed")
        self.assertEqual(recs[1]["value"], "[('x', '<i4'), ('y', '<f8')] (3, 4.5)")
        # a request without a filter: the named children, then a first page of 100 rows
        mixed = self.kids(loc["df"]["variablesReference"])
        self.assertEqual(len(mixed), 4 + 100)

    def test_lazy_statistics_and_transpose(self):
        loc = self.h.locals_of(self.fid)
        named = dict((n["name"], n) for n in self.kids(loc["w"]["variablesReference"], filter="named"))
        stats = named["statistics"]
        self.assertEqual(stats["presentationHint"], {"kind": "virtual", "lazy": True})
        got = self.kids(stats["variablesReference"])
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0]["name"], "statistics")
        self.assertTrue(got[0]["value"].startswith("min=-1 max=1 mean="), got[0]["value"])
        t = self.kids(named["T"]["variablesReference"])[0]
        self.assertTrue(t["value"].startswith("Tensor float32 [1024, 4096] cpu"), t["value"])
        self.assertEqual(t["evaluateName"], "w.T")
        self.assertNotIn("statistics", [n["name"] for n in self.kids(loc["meta"]["variablesReference"],
                                                                      filter="named")])

    def test_table_windows(self):
        tracemalloc.start()
        try:
            body = self.req("longreach/table", expression="df", frameId=self.fid, start=2000000, rows=100)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertLess(peak, 4 * MB)
        self.assertEqual(body["columns"], ["a", "b"])
        self.assertEqual(len(body["rows"]), 100)
        self.assertEqual(body["index"][0], "2000000")
        self.assertEqual(body["rows"][0][0], "2000000")
        self.assertEqual(body["totalRows"], 5000000)
        body = self.req("longreach/table", expression="w", frameId=self.fid, rows=2, columns=3)
        self.assertEqual(body["columns"], ["0", "1", "2"])
        self.assertEqual(body["rows"][0][0], "-1")
        self.assertEqual(len(body["rows"][0]), 3)
        self.assertEqual(body["totalColumns"], 1024)
        body = self.req("longreach/table", expression="df['b']", frameId=self.fid, start=4999999)
        self.assertEqual(body["rows"], [["1"]])
        e = self.h.error("longreach/table", {"expression": "big6", "frameId": self.fid})
        self.assertIn("cannot be shown as a table", e.message)
        e = self.h.error("longreach/table", {"expression": "meta", "frameId": self.fid})
        self.assertIn("meta device has no data", e.message)

    def test_statistics_requests(self):
        s = self.req("longreach/stats", expression="w", frameId=self.fid)["statistics"]
        self.assertEqual((s["min"], s["max"], s["count"], s["nan"], s["inf"]), (-1.0, 1.0, 4194304, 0, 0))
        self.assertAlmostEqual(s["mean"], 0.0, places=5)
        s = self.req("longreach/stats", expression="floats", frameId=self.fid)["statistics"]
        self.assertEqual((s["min"], s["max"], s["std"], s["count"]), (0.0, 0.0, 0.0, 100000000))
        s = self.req("longreach/stats", expression="df", frameId=self.fid)["statistics"]
        self.assertEqual(sorted(s["columns"]), ["a", "b"])
        self.assertEqual(s["columns"]["a"]["max"], 4999999)
        s = self.req("longreach/stats", expression="small[1:]", frameId=self.fid)["statistics"]
        self.assertEqual((s["nan"], s["inf"], s["finite"]), (1, 1, 1))
        s = self.req("longreach/stats", expression="big6[:, ::2]", frameId=self.fid)["statistics"]  # not contiguous
        self.assertEqual(s["count"], 6 * 3 * 6 ** 8)
        for expr, text in (("meta", "meta device has no data"), ("rec", "no statistics for dtype"),
                           ("torch.zeros(3, 3).to_sparse()", "sparse_coo")):
            try:
                self.req("longreach/stats", expression=expr, frameId=self.fid)
            except LongreachError as e:
                self.assertIn(text, e.message)
                self.assertEqual(e.code, "LR_EVAL_FAILED")
            else:
                self.fail("stats of %s did not fail" % expr)


if __name__ == "__main__":
    unittest.main()
