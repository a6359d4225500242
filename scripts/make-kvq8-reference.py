#!/usr/bin/env python3
"""Writes llama.cpp's logits and greedy tokens with a q8_0 key cache (llama.cpp's `-ctk q8_0`,
type_k = GGML_TYPE_Q8_0, flash attention off, so q and k are rotated by its Hadamard matrix
first) for tests/interp/test_kv_q8.py: tests/interp/data/kv-q8_0.json.

- The default model: the top 20 logits and the argmax for the first prompts of
  make-logits-reference.py, and 16 greedy tokens for two of them.
- Synthetic models of tests/interp/test_synth_logits.py (by name, with their sha256): head dims
  64 (rotated) and 32 (not rotated), one and two key/value heads, a sliding window; the top 50
  logits and every 64th one for its tokens, and 12 greedy tokens after "Hello world".

usage: scripts/make-kvq8-reference.py [MODEL] [OUTPUT]
  CHORD (environment): the chord binary, for `chord synth` (default build-ref/chord, then PATH)."""
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import llama_cpp
import llama_cpp.llama_cpp as low

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
spec = importlib.util.spec_from_file_location(
    "make_logits_reference", os.path.join(ROOT, "scripts", "make-logits-reference.py"))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)

DEFAULT_OUTPUT = os.path.join(ROOT, "tests", "interp", "data", "kv-q8_0.json")
GGML_TYPE_Q8_0 = 8
PROMPTS = ref.PROMPTS[:6]
GREEDY_PROMPTS = ["The capital of France is", "Once upon a time"]
SYNTH = ["llama-q4_k_m", "qwen2", "gemma3-q8_0"]


def load(path):
    try:
        return llama_cpp.Llama(model_path=path, n_ctx=256, n_threads=2, type_k=GGML_TYPE_Q8_0,
                               flash_attn=False, verbose=False)
    except Exception as e:
        ref.fail(f"llama.cpp cannot load {path} with a q8_0 key cache: {e}")


def greedy(model, path, tokens, n):
    model.reset()
    model.eval(tokens)
    out = []
    for _ in range(n):
        best = int(np.argmax(ref.last_logits(model, path)))
        out.append(best)
        model.eval([best])
    return out


def main():
    model_path = sys.argv[1] if len(sys.argv) > 1 else ref.DEFAULT_MODEL
    output = sys.argv[2] if len(sys.argv) > 2 else DEFAULT_OUTPUT
    if os.environ.get("LLAMA_ATTN_ROT_DISABLE"):
        ref.fail("LLAMA_ATTN_ROT_DISABLE is set: the reference must be llama.cpp's default")
    low.llama_model_default_params = ref.no_extra_buffers
    model = load(model_path)
    cases = []
    for prompt in PROMPTS:
        tokens = model.tokenize(prompt.encode(), add_bos=True, special=False)
        model.reset()
        model.eval(tokens)
        logits = ref.last_logits(model, model_path)
        top = np.argsort(-logits, kind="stable")[:ref.TOP_K]
        cases.append({"prompt": prompt, "tokens": [int(t) for t in tokens],
                      "top": [[int(i), round(float(logits[i]), 5)] for i in top],
                      "argmax": int(np.argmax(logits))})
    runs = [{"prompt": p, "tokens": greedy(model, model_path, model.tokenize(
        p.encode(), add_bos=True, special=False), 16)} for p in GREEDY_PROMPTS]
    del model
    synth = []
    chord = ref.chord_binary()
    data = os.environ.get("CHORD_TEST_DATA", os.path.join(ROOT, "..", "shared", "testdata"))
    with tempfile.TemporaryDirectory() as tmp:
        for name in SYNTH:
            arch, dims, vocab, file_type = ref.SYNTH_CASES[name]
            path = os.path.join(tmp, name + ".gguf")
            subprocess.run([chord, "synth", "--arch", arch, "--dims", dims, "--type", file_type,
                            "--vocab", os.path.join(data, "vocab", vocab), "-q", "-o", path],
                           check=True)
            with open(path, "rb") as f:
                sha256 = hashlib.sha256(f.read()).hexdigest()
            m = load(path)
            m.eval(ref.SYNTH_TOKENS)
            logits = ref.last_logits(m, path)
            top = np.argsort(-logits, kind="stable")[:ref.SYNTH_TOP_K]
            synth.append({"name": name, "sha256": sha256, "tokens": ref.SYNTH_TOKENS,
                          "argmax": int(np.argmax(logits)),
                          "top": [[int(i), round(float(logits[i]), 6)] for i in top],
                          "sample": [round(float(x), 6) for x in logits[::ref.SYNTH_STRIDE]],
                          "greedy_prompt": "Hello world",
                          "greedy": greedy(m, path, m.tokenize(b"Hello world", add_bos=True,
                                                               special=False), 12)})
            del m
            print(f"{name}: argmax {synth[-1]['argmax']}", file=sys.stderr)
    with open(output, "w") as f:
        json.dump({"model": os.path.basename(model_path),
                   "engine": "llama-cpp-python " + llama_cpp.__version__, "type_k": "q8_0",
                   "top_k": ref.TOP_K, "synth_top_k": ref.SYNTH_TOP_K,
                   "sample_stride": ref.SYNTH_STRIDE, "cases": cases, "greedy": runs,
                   "synth": synth}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
