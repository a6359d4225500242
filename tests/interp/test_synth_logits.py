#!/usr/bin/env python3
"""Lowering of each architecture, checked end to end: a small synthetic model (`chord synth`,
F32, F16 and quantized weights, default seed) through `chord logits --target interp` against
llama.cpp's logits on the same tokens,
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
# name -> (arch, --dims, --vocab file under DATA/vocab, --type, tolerance); the reference script
# (scripts/make-logits-reference.py) builds these same models. The graph rounds activations where
# llama.cpp does and the interpreter follows ggml's x86 arithmetic (docs/interp.md), so every case
# is llama.cpp's logits to the reference's 6 decimals: measured 0 on all. The K-quant cases need
# rows of 256 (n_embd=256); the 8-token prompt takes their prefill through llama.cpp's tiled
# kernel, the last layer's single row through its per-row dot products. gemma3 has six layers (the
# sixth is global) and a window of 4 keys, shorter than the prompt, so both kinds of layer and the
# window mask are exercised.
LLAMA_DIMS = "n_embd=128,n_layer=2,n_head=4,n_head_kv=2,n_ff=256"
GEMMA3_DIMS = "n_embd=128,n_layer=6,n_head=4,n_head_kv=1,head_dim=64,n_ff=256,sliding_window=4"
LLAMA_K_DIMS = "n_embd=256,n_layer=2,n_head=4,n_head_kv=2,n_ff=512"
GEMMA3_K_DIMS = "n_embd=256,n_layer=6,n_head=4,n_head_kv=1,head_dim=64,n_ff=512,sliding_window=4"
EXACT = 2e-6  # the reference's rounding to 6 decimals, with room for the float32 -> JSON trip
CASES = {
    "llama": ("llama", LLAMA_DIMS, "ggml-vocab-llama-spm.gguf", "F32", EXACT),
    "qwen2": ("qwen2", LLAMA_DIMS, "ggml-vocab-gpt-2.gguf", "F32", EXACT),
    "gemma3": ("gemma3", GEMMA3_DIMS, "ggml-vocab-llama-spm.gguf", "F32", EXACT),
    "llama-f16": ("llama", LLAMA_DIMS, "ggml-vocab-llama-spm.gguf", "F16", EXACT),
    "llama-q8_0": ("llama", LLAMA_DIMS, "ggml-vocab-llama-spm.gguf", "Q8_0", EXACT),
    "gemma3-q8_0": ("gemma3", GEMMA3_DIMS, "ggml-vocab-llama-spm.gguf", "Q8_0", EXACT),
    "qwen2-q4_0": ("qwen2", LLAMA_DIMS, "ggml-vocab-gpt-2.gguf", "Q4_0", EXACT),
    "llama-q4_k_m": ("llama", LLAMA_K_DIMS, "ggml-vocab-llama-spm.gguf", "Q4_K_M", EXACT),
    "qwen2-q4_k_m": ("qwen2", LLAMA_K_DIMS, "ggml-vocab-gpt-2.gguf", "Q4_K_M", EXACT),
    "gemma3-q4_k_m": ("gemma3", GEMMA3_K_DIMS, "ggml-vocab-llama-spm.gguf", "Q4_K_M", EXACT),
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

    def check(self, name):
        arch, dims, vocab, file_type, tolerance = CASES[name]
        refs = [c for c in self.reference["cases"] if c.get("name") == name]
        self.assertEqual(len(refs), 1, f"no reference for {name}" + RERUN)
        ref = refs[0]
        self.assertEqual((ref["arch"], ref["dims"], ref["vocab"], ref["type"], ref["tokens"]),
                         (arch, dims, vocab, file_type, TOKENS),
                         f"{name}: the reference was made for another model or prompt" + RERUN)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, name + ".gguf")
            run([CHORD, "synth", "--arch", arch, "--dims", dims, "--type", file_type, "--vocab",
                 os.path.join(DATA, "vocab", vocab), "-q", "-o", path])
            with open(path, "rb") as f:
                sha256 = hashlib.sha256(f.read()).hexdigest()
            self.assertEqual(sha256, ref["sha256"],
                             f"{name}: chord synth now writes other bytes than the file the "
                             "reference logits were computed on" + RERUN)
            ids = ",".join(map(str, TOKENS))
            ours = json.loads(run([CHORD, "logits", "--target", "interp", "-m", path, "--all",
                                   "--tokens", ids]))
        logits = ours["logits"]
        self.assertEqual(len(logits), ref["n_vocab"])
        stride = self.reference["sample_stride"]
        expected = dict((i, v) for i, v in ref["top"])
        expected.update((i * stride, v) for i, v in enumerate(ref["sample"]))
        self.assertEqual(len(ref["sample"]), len(range(0, ref["n_vocab"], stride)))
        worst = max(abs(logits[i] - v) for i, v in expected.items())
        print(f"{name}: max |delta logit| {worst:.2e} over {len(expected)} ids", file=sys.stderr)
        self.assertEqual(ours["argmax"], ref["argmax"])
        self.assertEqual(ref["argmax"], ref["top"][0][0])
        self.assertLessEqual(worst, tolerance)


for _name in CASES:  # one test per case: test_llama, test_llama_q8_0, ...
    setattr(SynthLogits, "test_" + _name.replace("-", "_"), lambda self, n=_name: self.check(n))


if __name__ == "__main__":
    unittest.main()
