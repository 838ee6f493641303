"""Runs the shared mapping vectors (test/vectors/mapping.json) through the Python engine: the TypeScript engine
runs the same file (test/unit/mapping.test.ts, which also runs this one), so passing both means they agree.

    python3 spark/test_metasync_rules.py
"""

from __future__ import annotations

import copy
import json
import unittest
from pathlib import Path

import metasync_rules as engine

ROOT = Path(__file__).resolve().parent.parent
RULES_TEXT = (ROOT / "mappings" / "default.json").read_text(encoding="utf-8")
VECTORS = json.loads((ROOT / "test" / "vectors" / "mapping.json").read_text(encoding="utf-8"))["cases"]


class SharedVectors(unittest.TestCase):
    def test_every_vector(self) -> None:
        rules = engine.load_rules(RULES_TEXT)
        for case in VECTORS:
            with self.subTest(case["name"]):
                context = case["context"]
                case_rules = rules
                if "nameCase" in case:
                    case_rules = copy.deepcopy(rules)
                    case_rules["sources"][context["sourceType"]]["nameCase"] = case["nameCase"]
                result = engine.map_record(case["record"], context["sourceType"], context["connectionId"], case_rules)
                if "rejected" in case:
                    self.assertFalse(result["ok"], result)
                    self.assertIn(case["rejected"], result["reason"])
                else:
                    self.assertTrue(result["ok"], result)
                    self.assertEqual(result["asset"], case["asset"])
                    self.assertEqual(result["fingerprint"], case["fingerprint"])

    def test_vectors_are_many(self) -> None:
        self.assertGreater(len(VECTORS), 100)


class Pieces(unittest.TestCase):
    def test_numbers_print_as_javascript_prints_them(self) -> None:
        cases = {
            0: "0",
            -0.0: "0",
            5: "5",
            5.0: "5",
            1.5: "1.5",
            100.0: "100",
            1e21: "1e+21",
            1e20: "100000000000000000000",
            1e-7: "1e-7",
            0.000001: "0.000001",
            123e-20: "1.23e-18",
            12345678901234567890: "12345678901234567000",
            -2.5e-8: "-2.5e-8",
            2**53 + 1: "9007199254740992",
        }
        for number, text in cases.items():
            self.assertEqual(engine.js_number_text(number), text, number)

    def test_segments_keep_only_unreserved_characters(self) -> None:
        self.assertEqual(engine.encode_segment("a-b_c.d~e f/g'h(i)*!"), "a-b_c.d~e%20f%2Fg%27h%28i%29%2A%21")

    def test_a_foreign_key_never_collides_with_a_column(self) -> None:
        column = engine.qualified_name("postgres", "c", "column", ["d", "s", "t", "x"])
        foreign_key = engine.qualified_name("postgres", "c", "foreign_key", ["d", "s", "t", "x"])
        self.assertEqual(foreign_key, "postgres://c/d/s/t#fk/x")
        self.assertNotEqual(column, foreign_key)

    def test_a_rule_naming_a_missing_group_is_refused(self) -> None:
        rules = json.loads(RULES_TEXT)
        rules["types"]["default"].insert(0, {"pattern": "x", "type": "string", "params": [1]})
        with self.assertRaisesRegex(ValueError, "group 1 does not exist"):
            engine.load_rules(json.dumps(rules))


if __name__ == "__main__":
    unittest.main()
