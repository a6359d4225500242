#!/usr/bin/env python3
"""chord run's behaviour on a small synthetic model (fast through the interpreter): sampling with
a fixed seed repeats, streamed text equals the final text, stop conditions, the C API example
program, and clear errors for bad input."""
import json
import os
import subprocess
import tempfile
import unittest

CHORD = os.environ.get("CHORD", "chord")
EXAMPLE = os.environ.get("CHORD_EXAMPLE_GENERATE", "")
TEST_DATA = os.environ.get("CHORD_TEST_DATA", "")
SPM_VOCAB = os.path.join(TEST_DATA, "vocab", "ggml-vocab-llama-spm.gguf")


def run(*args, check=True, stdin=None):
    result = subprocess.run([CHORD, *args], capture_output=True, text=True, input=stdin,
                            timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"chord {' '.join(args)} failed ({result.returncode}):\n"
                             f"{result.stderr[-2000:]}")
    return result


class RunCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.model = os.path.join(cls.tmp.name, "llama.gguf")
        run("synth", "-q", "--arch", "llama", "--dims",
            "n_embd=64,n_layer=2,n_head=4,n_head_kv=2,n_ff=128,n_ctx=256", "--vocab", SPM_VOCAB,
            "--type", "Q8_0", "--seed", "3", "-o", cls.model)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def gen(self, *args):
        out = run("run", "-m", self.model, "-p", "Once upon a time", "--json", *args)
        return json.loads(out.stdout)

    def test_json_shape(self):
        out = self.gen("-n", "5", "--temp", "0")
        self.assertEqual(out["prompt_tokens"][0], 1)  # BOS, as the SPM vocabulary asks
        self.assertEqual(len(out["tokens"]), 5)
        self.assertEqual(out["stop"], "length")
        for key in ("load_ms", "compile_ms", "prompt_ms", "prompt_tokens_per_s", "generate_ms",
                    "generate_tokens_per_s"):
            self.assertIn(key, out["timings"])

    def test_seed_repeats_and_differs(self):
        a = self.gen("-n", "16", "--seed", "42", "--temp", "1.5", "--top-k", "0", "--top-p", "1",
                     "--min-p", "0")
        b = self.gen("-n", "16", "--seed", "42", "--temp", "1.5", "--top-k", "0", "--top-p", "1",
                     "--min-p", "0")
        c = self.gen("-n", "16", "--seed", "43", "--temp", "1.5", "--top-k", "0", "--top-p", "1",
                     "--min-p", "0")
        self.assertEqual(a["tokens"], b["tokens"])
        self.assertNotEqual(a["tokens"], c["tokens"])

    def test_greedy_is_deterministic_across_optimization_levels(self):
        o0 = self.gen("-n", "12", "--temp", "0", "-O0")
        o2 = self.gen("-n", "12", "--temp", "0", "-O2")
        self.assertEqual(o0["tokens"], o2["tokens"])

    def test_prompt_in_steps_gives_the_same_tokens(self):
        whole = self.gen("-n", "8", "--temp", "0")
        steps = self.gen("-n", "8", "--temp", "0", "-b", "2")
        self.assertEqual(whole["tokens"], steps["tokens"])

    def test_streamed_text_equals_final_text(self):
        args = ["-n", "24", "--seed", "7", "--temp", "1.0"]
        final = self.gen(*args)["text"]
        streamed = run("run", "-m", self.model, "-p", "Once upon a time", "--no-display-prompt",
                       *args).stdout
        self.assertEqual(streamed, final + "\n")  # one newline after the reply

    def test_prompt_is_displayed_by_default(self):
        out = run("run", "-m", self.model, "-p", "Once upon a time", "-n", "2", "--temp", "0")
        self.assertTrue(out.stdout.startswith("Once upon a time"))
        self.assertIn("tokens/s", out.stderr)

    def test_stop_string_cuts_the_text(self):
        full = self.gen("-n", "24", "--temp", "0")
        text = full["text"]
        if len(text.strip()) < 4:
            self.skipTest("the random model wrote too little text")
        stop = text.strip()[1:3]
        cut = self.gen("-n", "24", "--temp", "0", "-r", stop)
        self.assertEqual(cut["stop"], "stop")
        self.assertNotIn(stop, cut["text"])
        self.assertTrue(text.startswith(cut["text"]))

    def test_full_context_stops_cleanly(self):
        out = self.gen("-n", "-1", "--temp", "0", "-c", "16")
        self.assertEqual(out["stop"], "context")
        # 16 positions fed; the token sampled after the last one is shown but never fed
        self.assertEqual(len(out["prompt_tokens"]) + len(out["tokens"]), 17)

    def test_full_context_says_so(self):
        r = run("run", "-m", self.model, "-p", "Once upon a time", "-n", "-1", "--temp", "0",
                "-c", "16")
        self.assertIn("the context is full (16 tokens)", r.stderr)
        self.assertIn("--context-shift", r.stderr)

    def test_context_shift_goes_on(self):
        stopped = self.gen("-n", "-1", "--temp", "0", "-c", "16")
        shifted = self.gen("-n", "40", "--temp", "0", "-c", "16", "--context-shift")
        self.assertEqual(shifted["stop"], "length")
        self.assertEqual(len(shifted["tokens"]), 40)
        # the same tokens until the first shift, and the same run again
        n = len(stopped["tokens"])
        self.assertEqual(shifted["tokens"][:n], stopped["tokens"])
        again = self.gen("-n", "40", "--temp", "0", "-c", "16", "--context-shift")
        self.assertEqual(again["tokens"], shifted["tokens"])
        kept = self.gen("-n", "40", "--temp", "0", "-c", "16", "--context-shift", "--keep", "-1")
        self.assertEqual(len(kept["tokens"]), 40)
        self.assertEqual(kept["tokens"][:n], stopped["tokens"])

    def test_prompt_longer_than_the_context_is_an_error(self):
        r = run("run", "-m", self.model, "-p", "word " * 40, "-c", "8", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("do not fit the context", r.stderr)

    def test_bad_input(self):
        cases = [
            (["run"], 2, "give exactly one of -p PROMPT, -f FILE and --chat"),
            (["run", "-p", "x", "--chat"], 2, "give exactly one of"),
            (["run", "-p", "x", "--temp", "warm"], 2, "bad value 'warm' for --temp"),
            (["run", "-p", "x", "-m", "/nonexistent.gguf"], 1, "/nonexistent.gguf"),
            (["run", "-p", "x", "-m", self.model, "--top-p", "2"], 1, "top_p"),
            (["run", "-p", "x", "-m", self.model, "--target", "tpu"], 1, "unknown target 'tpu'"),
            (["run", "-p", "x", "-O7"], 2, "no optimization level -O7"),
            (["run", "-p", "x", "--keep", "-2"], 2, "bad value '-2' for --keep"),
            (["run", "-f", "/nonexistent.txt", "-m", self.model], 1, "/nonexistent.txt"),
        ]
        for args, code, message in cases:
            r = run(*args, check=False)
            self.assertEqual(r.returncode, code, (args, r.stderr))
            self.assertIn(message, r.stderr, args)
            self.assertEqual(r.stdout, "", args)

    def test_help(self):
        out = run("run", "--help").stdout
        for flag in ("--temp", "--top-k", "--top-p", "--min-p", "--seed", "--ctx-size",
                     "--chat", "--json", "--threads", "--n-predict"):
            self.assertIn(flag, out)

    def test_chat_two_turns(self):
        # the synthetic model's vocabulary has no template: the built-in llama2 one renders
        out = run("run", "-m", self.model, "--chat", "--chat-template", "llama2", "-n", "4",
                  "--temp", "0", "--system-prompt", "Be brief.", stdin="Hello\nAnd then?\n")
        self.assertEqual(out.stdout.count("> "), 3)  # two turns and the prompt at EOF

    def test_example_program(self):
        if not EXAMPLE:
            self.skipTest("CHORD_EXAMPLE_GENERATE not set")
        r = subprocess.run([EXAMPLE, self.model, "Once upon a time", "6"], capture_output=True,
                           text=True, timeout=600)
        self.assertEqual(r.returncode, 0, r.stderr)
        greedy = self.gen("-n", "6", "--temp", "0")["text"]
        self.assertTrue(r.stdout.startswith(greedy), (r.stdout, greedy))
        self.assertIn("generated]", r.stdout)


if __name__ == "__main__":
    unittest.main()
