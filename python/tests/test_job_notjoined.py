"""Why a process of the job has not joined (longreach/job/notjoined.py): the Python options that skip the job's
bootstrap are found on a command line however they are written, and only before the program."""

import unittest

from longreach.job import notjoined


class PythonFlags(unittest.TestCase):
    def flags(self, *argv):
        return notjoined._python_flags(["python3"] + list(argv))

    def test_one_letter_options_alone_or_grouped(self):
        self.assertEqual(self.flags("-I", "-c", "pass"), ["I"])
        self.assertEqual(self.flags("-sE", "script.py"), ["s", "E"])
        self.assertEqual(self.flags("-u", "-S", "-m", "pkg"), ["u", "S"])

    def test_options_with_an_argument_are_skipped_with_it(self):
        self.assertEqual(self.flags("-W", "ignore", "-I", "x.py"), ["I"])
        self.assertEqual(self.flags("-Wignore", "-X", "dev", "-E", "x.py"), ["E"])
        self.assertEqual(self.flags("-X", "I", "x.py"), [])  # (-X's argument, not -I)
        self.assertEqual(self.flags("--check-hash-based-pycs", "never", "-I", "x.py"), ["I"])

    def test_what_follows_the_program_is_the_programs(self):
        self.assertEqual(self.flags("x.py", "-I"), [])
        self.assertEqual(self.flags("-c", "pass", "-I"), [])
        self.assertEqual(self.flags("-m", "pkg", "-E"), [])
        self.assertEqual(self.flags("-Bc", "pass", "-S"), ["B"])
        self.assertEqual(self.flags("-", "-I"), [])
        self.assertEqual(self.flags(), [])


if __name__ == "__main__":
    unittest.main()
