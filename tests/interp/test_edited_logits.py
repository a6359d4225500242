#!/usr/bin/env python3
"""What `chord synth` does not write, checked end to end against llama.cpp: per-frequency rope
factors (rope_freqs.weight, Llama 3.1) and gemma3's final_logit_softcapping, on synthetic models
that edited_synth.py makes from chord synth files with gguf-py. `chord logits` against llama.cpp's
logits on the same files, committed in data/edited-logits.json
(scripts/make-ropefreqs-reference.py): identical argmax and close logits over llama.cpp's top 50
and every sample_stride-th id. The test rebuilds each model and fails if its bytes changed (the
reference would no longer apply). llama.cpp itself is not needed."""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unittest

import edited_synth

HERE = os.path.dirname(os.path.abspath(__file__))
CHORD = os.environ.get("CHORD", "chord")
DATA = os.environ.get("CHORD_TEST_DATA", os.path.join(HERE, "..", "..", "..", "shared",
                                                      "testdata"))
REFERENCE = os.path.join(HERE, "data", "edited-logits.json")
RERUN = "; rerun scripts/make-ropefreqs-reference.py to regenerate " + REFERENCE
# As test_synth_logits.py: F32 weights, llama.cpp rounds the KV cache to f16 as chord does and
# sums in another order.
TOLERANCE = 2e-3


def run(args):
    result = subprocess.run(args, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise AssertionError(" ".join(args[:3]) + ": " + result.stderr[-2000:])
    return result.stdout


class EditedLogits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(REFERENCE) as f:
            cls.reference = json.load(f)

    def check(self, name):
        refs = [c for c in self.reference["cases"] if c["name"] == name]
        self.assertEqual(len(refs), 1, f"no reference for {name}" + RERUN)
        ref = refs[0]
        self.assertEqual(ref["tokens"], edited_synth.TOKENS,
                         f"{name}: the reference was made for another prompt" + RERUN)
        # Agreeing with llama.cpp only shows that chord applies the edit if the edit matters.
        self.assertGreater(ref["edit_moves"], 20 * TOLERANCE,
                           f"{name}: the edit hardly changes llama.cpp's logits")
        with tempfile.TemporaryDirectory() as tmp:
            path, _ = edited_synth.build(name, CHORD, DATA, tmp)
            with open(path, "rb") as f:
                sha256 = hashlib.sha256(f.read()).hexdigest()
            self.assertEqual(sha256, ref["sha256"],
                             f"{name}: the rebuilt model differs from the file the reference "
                             "logits were computed on (chord synth or gguf-py changed)" + RERUN)
            ids = ",".join(map(str, edited_synth.TOKENS))
            ours = json.loads(run([CHORD, "logits", "--target", "interp", "-m", path, "--all",
                                   "--tokens", ids]))
        logits = ours["logits"]
        self.assertEqual(len(logits), ref["n_vocab"])
        stride = self.reference["sample_stride"]
        self.assertEqual(len(ref["sample"]), len(range(0, ref["n_vocab"], stride)))
        expected = dict((i, v) for i, v in ref["top"])
        expected.update((i * stride, v) for i, v in enumerate(ref["sample"]))
        worst = max(abs(logits[i] - v) for i, v in expected.items())
        print(f"{name}: max |delta logit| {worst:.2e} over {len(expected)} ids (the edit moves "
              f"llama.cpp's by up to {ref['edit_moves']:.3g})", file=sys.stderr)
        self.assertEqual(ours["argmax"], ref["argmax"])
        self.assertEqual(ref["argmax"], ref["top"][0][0])
        self.assertLessEqual(worst, TOLERANCE)

    def test_llama_rope_freqs(self):
        self.check("llama-rope-freqs")

    def test_gemma3_final_logit_softcapping(self):
        self.check("gemma3-softcap")

    def refused(self, arch, dims, vocab, keys, tensors, message):
        with tempfile.TemporaryDirectory() as tmp:
            synthesized, path = os.path.join(tmp, "s.gguf"), os.path.join(tmp, "e.gguf")
            edited_synth.synth(CHORD, DATA, arch, dims, synthesized, vocab)
            edited_synth.edit(synthesized, path, keys, tensors, {})
            result = subprocess.run([CHORD, "logits", "-m", path, "--tokens", "1,2"],
                                    capture_output=True, text=True, timeout=600)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(message, result.stderr)

    def test_qwen2_rope_freqs_is_refused(self):
        # llama.cpp's qwen2 does not use the tensor, and refuses a file with one it does not use
        factors = edited_synth.llama3_rope_factors(32, 10000.0, 8.0, 1.0, 4.0, 32)
        self.refused("qwen2", edited_synth.LLAMA_DIMS, "ggml-vocab-gpt-2.gguf", {},
                     {"rope_freqs.weight": factors},
                     "qwen2 model with rope_freqs.weight (only llama has per-frequency rope")

    def test_negative_softcapping_is_refused(self):
        self.refused("gemma3", edited_synth.GEMMA3_DIMS, edited_synth.VOCAB,
                     {"gemma3.final_logit_softcapping": -30.0}, {},
                     "gemma3 final_logit_softcapping = -30 must be positive (or 0: none)")


if __name__ == "__main__":
    unittest.main()
