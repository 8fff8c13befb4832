import json
import os
import unittest

from longreach import errors

SPEC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "spec", "errors.json")


class ErrorTable(unittest.TestCase):
    def setUp(self):
        with open(SPEC, encoding="utf-8") as f:
            self.spec = json.load(f)["errors"]

    def test_identical_to_spec(self):
        self.assertEqual(list(errors.ERRORS.items()), [(e["code"], e["id"]) for e in self.spec])

    def test_codes_and_ids_unique(self):
        self.assertEqual(len(set(errors.ERRORS.values())), len(errors.ERRORS))
        self.assertEqual(len(set(e["code"] for e in self.spec)), len(self.spec))

    def test_error_carries_code_id_message(self):
        err = errors.LongreachError("LR_AUTH_FAILED", "secret did not match")
        self.assertEqual((err.code, err.id, err.message), ("LR_AUTH_FAILED", 1001, "secret did not match"))
        self.assertEqual(str(err), "LR_AUTH_FAILED: secret did not match")

    def test_unknown_code_rejected(self):
        with self.assertRaises(ValueError):
            errors.LongreachError("LR_NOPE", "x")

    def test_error_body_shape(self):
        self.assertEqual(errors.error_body("LR_TIMEOUT", "too slow"),
                         {"error": {"id": 1302, "format": "too slow", "showUser": True, "code": "LR_TIMEOUT"}})
