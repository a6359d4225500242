#!/usr/bin/env python3
"""chord bench through the CLI on a small synthetic model: the JSON object's fields (medians
within [min, max], one entry per repetition), a skipped test leaves its fields out, the text
table, the optimization level and target are reported as given, and bad arguments are usage
errors (exit 2) that say what is wrong. Speeds are printed, never asserted."""
import json
import os
import tempfile
import unittest

from tool_test import chord, synth

DIMS = "n_embd=64,n_layer=2,n_head=4,n_head_kv=2,n_ff=128"


class Bench(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.model = synth(os.path.join(cls.tmp.name, "llama.gguf"), arch="llama", dims=DIMS,
                          file_type="Q4_K_M")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def bench(self, *args):
        return json.loads(chord("bench", "-m", self.model, "-t", "1", "--json", *args).stdout)

    def test_json_fields(self):
        out = self.bench("-p", "24", "-n", "8", "-r", "3", "-O0", "--target", "interp")
        self.assertEqual((out["opt_level"], out["target"], out["repetitions"]), (0, "interp", 3))
        self.assertEqual((out["pp_tokens"], out["tg_tokens"]), (24, 8))
        for test in ("pp", "tg"):
            runs = out[test + "_runs"]
            self.assertEqual(len(runs), 3)
            self.assertTrue(all(r > 0 for r in runs))
            self.assertEqual(out[test + "_min"], min(runs))
            self.assertEqual(out[test + "_max"], max(runs))
            self.assertEqual(out[test + "_tokens_per_s"], sorted(runs)[1])
        self.assertGreater(out["peak_rss_bytes"], 0)
        self.assertGreaterEqual(out["compile_ms"], 0)

    def test_a_test_of_zero_tokens_is_skipped(self):
        out = self.bench("-p", "0", "-n", "4", "-r", "1")
        self.assertNotIn("pp_tokens_per_s", out)
        self.assertIn("tg_tokens_per_s", out)

    def test_text_table(self):
        out = chord("bench", "-m", self.model, "-t", "1", "-p", "16", "-n", "4", "-r", "2").stdout
        self.assertIn("target cpu, -O2, 1 threads", out)
        self.assertRegex(out, r"\npp16 +[0-9.]+ +[0-9.]+ +[0-9.]+\n")
        self.assertRegex(out, r"\ntg4 +[0-9.]+ +[0-9.]+ +[0-9.]+\n")

    def test_bad_arguments(self):
        for args, message in ((["-p", "0", "-n", "0"], "nothing to measure"),
                              (["-r", "0"], "bad value '0' for -r"),
                              (["-p", "many"], "bad value 'many' for -p"),
                              (["-O3"], "no optimization level -O3"),
                              (["--frobnicate"], "invalid option")):
            with self.subTest(args=args):
                result = chord("bench", "-m", self.model, *args, check=False)
                self.assertEqual(result.returncode, 2)
                self.assertIn(message, result.stderr)
        result = chord("bench", "-m", os.path.join(self.tmp.name, "missing.gguf"), check=False)
        self.assertEqual(result.returncode, 1)
        self.assertIn("missing.gguf", result.stderr)


if __name__ == "__main__":
    unittest.main()
