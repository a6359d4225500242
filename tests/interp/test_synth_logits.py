#!/usr/bin/env python3
"""Lowering of each architecture, checked end to end: a small synthetic model (`chord synth`,
F32 weights, default seed) through `chord logits` against llama.cpp's logits on the same tokens,
committed in data/synth-logits.json (scripts/make-logits-reference.py): identical argmax and close
logits over llama.cpp's top 50 and every sample_stride-th id. The reference holds the sha256 of
each synthetic file; the test re-synthesizes it and fails if the bytes changed (the reference
would no longer apply: rerun the script). llama.cpp itself is not needed."""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CHORD = os.environ.get("CHORD", "chord")
DATA = os.environ.get("CHORD_TEST_DATA", os.path.join(HERE, "..", "..", "..", "shared",
                                                      "testdata"))
REFERENCE = os.path.join(HERE, "data", "synth-logits.json")
RERUN = "; rerun scripts/make-logits-reference.py to regenerate " + REFERENCE
TOKENS = [1, 15043, 3186, 29892, 920, 526, 366, 29973]
# F32 weights: llama.cpp still rounds the KV cache to f16 (as chord does) and sums in another
# order. gemma3 has six layers (the sixth is global) and a window of 4 keys, shorter than the
# prompt, so both kinds of layer and the window mask are exercised. Measured: up to 4e-4.
TOLERANCE = 2e-3

# arch -> (--dims, --vocab file under DATA/vocab); the script builds the same models.
CASES = {
    "llama": ("n_embd=128,n_layer=2,n_head=4,n_head_kv=2,n_ff=256", "ggml-vocab-llama-spm.gguf"),
    "qwen2": ("n_embd=128,n_layer=2,n_head=4,n_head_kv=2,n_ff=256", "ggml-vocab-gpt-2.gguf"),
    "gemma3": ("n_embd=128,n_layer=6,n_head=4,n_head_kv=1,head_dim=64,n_ff=256,sliding_window=4",
               "ggml-vocab-llama-spm.gguf"),
}


def run(args, **kw):
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, **kw)
    if result.returncode != 0:
        raise AssertionError(" ".join(args[:3]) + ": " + result.stderr[-2000:])
    return result.stdout


class SynthLogits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(REFERENCE) as f:
            cls.reference = json.load(f)

    def check(self, arch):
        dims, vocab = CASES[arch]
        refs = [c for c in self.reference["cases"] if c["arch"] == arch]
        self.assertEqual(len(refs), 1, f"no reference for {arch}" + RERUN)
        ref = refs[0]
        self.assertEqual((ref["dims"], ref["vocab"], ref["type"], ref["tokens"]),
                         (dims, vocab, "F32", TOKENS),
                         f"{arch}: the reference was made for another model or prompt" + RERUN)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, arch + ".gguf")
            run([CHORD, "synth", "--arch", arch, "--dims", dims, "--type", "F32", "--vocab",
                 os.path.join(DATA, "vocab", vocab), "-q", "-o", path])
            with open(path, "rb") as f:
                sha256 = hashlib.sha256(f.read()).hexdigest()
            self.assertEqual(sha256, ref["sha256"],
                             f"{arch}: chord synth now writes other bytes than the file the "
                             "reference logits were computed on" + RERUN)
            ids = ",".join(map(str, TOKENS))
            ours = json.loads(run([CHORD, "logits", "-m", path, "--all", "--tokens", ids]))
        logits = ours["logits"]
        self.assertEqual(len(logits), ref["n_vocab"])
        stride = self.reference["sample_stride"]
        expected = dict((i, v) for i, v in ref["top"])
        expected.update((i * stride, v) for i, v in enumerate(ref["sample"]))
        self.assertEqual(len(ref["sample"]), len(range(0, ref["n_vocab"], stride)))
        worst = max(abs(logits[i] - v) for i, v in expected.items())
        print(f"{arch}: max |delta logit| {worst:.2e} over {len(expected)} ids", file=sys.stderr)
        self.assertEqual(ours["argmax"], ref["argmax"])
        self.assertEqual(ref["argmax"], ref["top"][0][0])
        self.assertLessEqual(worst, TOLERANCE)

    def test_llama(self):
        self.check("llama")

    def test_qwen2(self):
        self.check("qwen2")

    def test_gemma3(self):
        self.check("gemma3")


if __name__ == "__main__":
    unittest.main()
