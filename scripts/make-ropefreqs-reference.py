#!/usr/bin/env python3
"""Writes tests/interp/data/edited-logits.json: llama.cpp's last-position logits, through
llama-cpp-python, on the synthetic models that tests/interp/edited_synth.py makes from `chord
synth` files with gguf-py: a llama with per-frequency rope factors (rope_freqs.weight, Llama
3.1's scaling) and a gemma3 with final_logit_softcapping. For each: the sha256 of the model file,
llama.cpp's top-50 ids and values, its argmax, every SAMPLE_STRIDE-th logit, and how far the
edit moves llama.cpp's logits on those ids (max |edited - unedited|): the test needs that to be
well above its tolerance, or agreeing with the reference would not show that chord applies the
edit. tests/interp/test_edited_logits.py rebuilds each model, checks the sha256 and compares
`chord logits` against this file, without llama.cpp.

usage: scripts/make-ropefreqs-reference.py [OUTPUT]
  CHORD (environment): the chord binary (default build-ref/chord, then `chord` on PATH);
  CHORD_TEST_DATA: the test data folder (default ../shared/testdata), for the vocabulary.
"""
import hashlib
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import llama_cpp
import llama_cpp.llama_cpp as low

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "tests", "interp"))
import edited_synth  # noqa: E402 (the test's own model builder, found through the path above)

DEFAULT_OUTPUT = os.path.join(ROOT, "tests", "interp", "data", "edited-logits.json")
TOP_K = 50
SAMPLE_STRIDE = 64


def fail(message):
    sys.exit("make-ropefreqs-reference: " + message)


def no_extra_buffers(default=low.llama_model_default_params):
    # llama.cpp's AMX kernels crash with SIGILL on this VM: keep to the plain CPU buffers.
    p = default()
    p.use_extra_bufts = False
    return p


def chord_binary():
    if "CHORD" in os.environ:
        return os.environ["CHORD"]
    built = os.path.join(ROOT, "build-ref", "chord")
    return built if os.path.exists(built) else shutil.which("chord") or fail("no chord binary")


def logits_of(path):
    try:
        model = llama_cpp.Llama(model_path=path, n_ctx=64, n_threads=1, verbose=False)
    except Exception as e:  # llama.cpp refused the file
        fail(f"llama.cpp cannot load {path}: {e}")
    model.eval(edited_synth.TOKENS)
    logits = np.ctypeslib.as_array(low.llama_get_logits_ith(model._ctx.ctx, -1),
                                   shape=(model.n_vocab(),)).astype(np.float64)
    del model
    if not np.all(np.isfinite(logits)):
        fail(f"llama.cpp gives non-finite logits on {path}")
    return logits


def main():
    output = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUTPUT
    low.llama_model_default_params = no_extra_buffers
    chord = chord_binary()
    data = os.environ.get("CHORD_TEST_DATA", os.path.join(ROOT, "..", "shared", "testdata"))
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in edited_synth.CASES:
            path, plain = edited_synth.build(name, chord, data, tmp)
            with open(path, "rb") as f:
                sha256 = hashlib.sha256(f.read()).hexdigest()
            logits = logits_of(path)
            unedited = logits_of(plain)
            top = np.argsort(-logits, kind="stable")[:TOP_K]
            ids = sorted(set(int(i) for i in top) | set(range(0, len(logits), SAMPLE_STRIDE)))
            moved = float(np.max(np.abs(logits[ids] - unedited[ids])))
            cases.append({"name": name, "sha256": sha256, "tokens": edited_synth.TOKENS,
                          "n_vocab": len(logits), "argmax": int(np.argmax(logits)),
                          "edit_moves": round(moved, 6),
                          "top": [[int(i), round(float(logits[i]), 6)] for i in top],
                          "sample": [round(float(x), 6) for x in logits[::SAMPLE_STRIDE]]})
            print(f"{name}: {sha256} argmax {cases[-1]['argmax']}, the edit moves llama.cpp's "
                  f"logits by up to {moved:.3g}", file=sys.stderr)
    with open(output, "w") as f:
        f.write('{"engine": %s, "top_k": %d, "sample_stride": %d, "cases": [\n' % (
            json.dumps("llama-cpp-python " + llama_cpp.__version__), TOP_K, SAMPLE_STRIDE))
        f.write(",\n".join(json.dumps(c) for c in cases))
        f.write("\n]}\n")


if __name__ == "__main__":
    main()
