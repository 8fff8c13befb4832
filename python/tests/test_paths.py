"""Client path -> remote file: exact, pathMappings, package heuristic, Windows paths, messages."""

import os
import shutil
import sys
import tempfile
import unittest

from tests import tracer_support  # noqa: F401  (python/ on sys.path)
from longreach.session.paths import PathResolver, package_tail, split_client_path
from longreach.tracer.base import canon


class Tree(object):
    """A temporary tree: root/app.py, root/pkg/__init__.py, root/pkg/sub/__init__.py, root/pkg/sub/mod.py."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="lr-paths-")
        for rel in ("app.py", "pkg/__init__.py", "pkg/sub/__init__.py", "pkg/sub/mod.py", "other/mod.py"):
            p = os.path.join(self.root, *rel.split("/"))
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write("x = 1\n")

    def path(self, rel):
        return canon(os.path.join(self.root, *rel.split("/")))

    def remove(self):
        shutil.rmtree(self.root, ignore_errors=True)


class PathsTest(unittest.TestCase):
    def setUp(self):
        self.t = Tree()
        self.loaded = [self.t.path("app.py"), self.t.path("pkg/sub/mod.py"), self.t.path("other/mod.py")]
        self.r = PathResolver(extra_files=lambda: self.loaded)

    def tearDown(self):
        self.t.remove()

    def test_split_windows_and_posix(self):
        self.assertEqual(split_client_path("C:\\proj\\app.py"), (["C:", "proj", "app.py"], True))
        self.assertEqual(split_client_path("/home/u/app.py"), (["home", "u", "app.py"], False))

    def test_package_tail(self):
        self.assertEqual(package_tail(self.t.path("pkg/sub/mod.py")), ["pkg", "sub", "mod.py"])
        self.assertEqual(package_tail(self.t.path("app.py")), ["app.py"])

    def test_exact(self):
        self.assertEqual(self.r.to_remote(self.t.path("app.py")), (self.t.path("app.py"), None))

    def test_mapping_from_windows_client(self):
        r = PathResolver([{"localRoot": "C:\\Proj", "remoteRoot": self.t.root}], extra_files=lambda: self.loaded)
        self.assertEqual(r.to_remote("c:\\proj\\pkg\\sub\\mod.py")[0], self.t.path("pkg/sub/mod.py"))
        self.assertEqual(r.to_client(self.t.path("pkg/sub/mod.py")), "C:\\Proj\\pkg\\sub\\mod.py")

    def test_loaded_file_beats_an_unloaded_file_at_the_exact_path(self):
        # two checkouts on one machine: the client's path exists here, but the program runs the other checkout
        other = Tree()
        self.addCleanup(other.remove)
        remote, why, note = self.r.resolve(other.path("pkg/sub/mod.py"))
        self.assertEqual((remote, why), (self.t.path("pkg/sub/mod.py"), None))
        self.assertEqual(note, "using %s; also matched %s (not loaded)" % (self.t.path("pkg/sub/mod.py"),
                                                                         other.path("pkg/sub/mod.py")))
        # nothing of that name is loaded: the file on disk is used, and nothing else matched
        self.assertEqual(self.r.resolve(other.path("pkg/__init__.py")), (other.path("pkg/__init__.py"), None, None))

    def test_mapping_to_the_running_file_beats_the_exact_path_on_disk(self):
        other = Tree()
        self.addCleanup(other.remove)
        r = PathResolver([{"localRoot": other.root, "remoteRoot": self.t.root}], extra_files=lambda: self.loaded)
        remote, _, note = r.resolve(other.path("app.py"))
        self.assertEqual(remote, self.t.path("app.py"))
        self.assertIn("also matched %s (not loaded)" % other.path("app.py"), note)

    def test_exact_loaded_path_has_no_note(self):
        self.assertEqual(self.r.resolve(self.t.path("pkg/sub/mod.py")), (self.t.path("pkg/sub/mod.py"), None, None))

    def test_mapping_posix(self):
        r = PathResolver([{"localRoot": "/home/me/proj/", "remoteRoot": self.t.root}])
        self.assertEqual(r.to_remote("/home/me/proj/app.py")[0], self.t.path("app.py"))
        self.assertEqual(r.to_client(self.t.path("app.py")), "/home/me/proj/app.py")

    def test_heuristic_uses_package_path(self):
        # two loaded mod.py files: the one inside pkg/sub matches a client path ending in pkg/sub/mod.py
        self.assertEqual(self.r.to_remote("C:\\elsewhere\\pkg\\sub\\mod.py")[0], self.t.path("pkg/sub/mod.py"))
        self.assertEqual(self.r.to_remote("/laptop/src/other/mod.py")[0], self.t.path("other/mod.py"))

    def test_heuristic_plain_script(self):
        self.assertEqual(self.r.to_remote("D:\\work\\app.py")[0], self.t.path("app.py"))

    def test_package_mismatch_is_refused(self):
        # the client's mod.py is not inside pkg/sub: the package file must not match, other/mod.py does
        self.assertEqual(self.r.to_remote("/x/sub/mod.py")[0], self.t.path("other/mod.py"))

    def test_unknown_file_says_why_and_nearest(self):
        remote, why = self.r.to_remote("C:\\proj\\apps.py")
        self.assertIsNone(remote)
        self.assertIn("no file named apps.py is loaded", why)
        self.assertIn("nearest: " + self.t.path("app.py"), why)

    def test_later_loaded_file_matches(self):
        self.assertTrue(self.r.match_new_file("C:\\p\\pkg\\sub\\mod.py", self.t.path("pkg/sub/mod.py")))
        # a file inside package pkg.sub is not the client's other\mod.py
        self.assertFalse(self.r.match_new_file("C:\\p\\other\\mod.py", self.t.path("pkg/sub/mod.py")))

    def test_bad_mapping(self):
        with self.assertRaises(ValueError):
            PathResolver([{"localRoot": 3}])

    def test_sys_modules_are_loaded_files(self):
        self.assertIn(canon(unittest.__file__), PathResolver().loaded_files())
        self.assertIn(canon(sys.modules[__name__].__file__), PathResolver().loaded_files())


if __name__ == "__main__":
    unittest.main()
