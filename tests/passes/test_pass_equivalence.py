#!/usr/bin/env python3
"""Every pass preserves results (rung 3 of the correctness ladder, docs/testing.md): the graph
before and after each pass, on random token ids, through `chord logits` on the reference
interpreter and on the CPU target, for a synthetic model of each architecture (and a q8_0 key
cache). Two views of "before and after":

- each pass of the table alone on the frontend's graph (`--passes NAME` against `--passes
  infer-shapes`, which only re-derives the types the frontend already gave);
- each step of the -O2 pipeline: its first k passes against its first k-1.

The prompt goes through in steps of 3 tokens (-b 3): 7 tokens make steps of 3, 3 and 1, so the
kernels' several-row and one-row (decode) paths both run, with positions already in the cache.

Tolerances: the passes whose rewrites keep every float operation (all but canonicalize) must give
the same logits bit for bit; canonicalize folds scale(scale(x, a), b) into one scale by a*b,
which rounds once where the chain rounds twice, so it may differ by 1e-5 of the largest logit.
The pass table is read from `chord opt --list-passes`, so a new pass is checked without editing
this file (and is held to bit for bit unless it is listed in ROUNDING)."""
import json
import os
import random
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interp"))
import test_synth_logits as synth  # noqa: E402

CHORD = os.environ.get("CHORD", "chord")
# name -> (synth case, extra chord logits arguments)
MODELS = {
    "llama-q8_0": ("llama-q8_0", []),
    "qwen2-q4_0": ("qwen2-q4_0", []),
    "gemma3-q4_k_m": ("gemma3-q4_k_m", []),
    "gemma3-q8_0-ctk-q8_0": ("gemma3-q8_0", ["-ctk", "q8_0"]),  # head dim 64: the Hadamard path
}
ROUNDING = {"canonicalize": 1e-5}  # pass -> tolerance relative to the largest logit
TARGETS = ("interp", "cpu")
PROMPT_TOKENS = 7


def run(args):
    result = subprocess.run([CHORD, *args], capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise AssertionError(f"chord {' '.join(args)}: {result.stderr[-2000:]}")
    return result.stdout


def pass_table():
    """The pass names and the -O2 pipeline, as `chord opt --list-passes` prints them."""
    names, o2 = [], []
    for line in run(["opt", "--list-passes"]).splitlines():
        if line.startswith("-O2:"):
            o2 = [p.strip() for p in line[4:].split(",")]
        elif line and not line.startswith("-O"):
            names.append(line.split()[0])
    return names, o2


class PassEquivalence(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.models = {}
        for name, (case, extra) in MODELS.items():
            arch, dims, vocab, file_type, _ = synth.CASES[case]
            path = os.path.join(cls.tmp.name, case + ".gguf")
            if not os.path.exists(path):
                run(["synth", "--arch", arch, "--dims", dims, "--type", file_type, "--vocab",
                     os.path.join(synth.DATA, "vocab", vocab), "-q", "-o", path])
            cls.models[name] = (path, extra)
        cls.names, cls.o2 = pass_table()
        cls.cache = {}

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def logits(self, model, target, passes, tokens):
        key = (model, target, passes, tuple(tokens))
        if key not in self.cache:
            path, extra = self.models[model]
            out = run(["logits", "-m", path, "--target", target, "--passes", passes, "--all",
                       "-b", "3", "--tokens", ",".join(map(str, tokens)), *extra])
            self.cache[key] = json.loads(out)["logits"]
        return self.cache[key]

    def tokens(self, model):
        # random ids over the model's vocabulary, one draw per model (seeded: a failure repeats)
        rng = random.Random(model)
        vocab = len(self.logits(model, "interp", "infer-shapes", [1]))
        return [rng.randrange(vocab) for _ in range(PROMPT_TOKENS)]

    def check(self, before, after, pass_name):
        self.assertEqual(len(before), len(after))
        tolerance = ROUNDING.get(pass_name, 0.0) * max(abs(x) for x in before)
        worst = max(abs(a - b) for a, b in zip(before, after))
        self.assertLessEqual(worst, tolerance, f"{pass_name}: max |delta| {worst}")

    def test_each_pass_alone(self):
        for model in self.models:
            tokens = self.tokens(model)
            for target in TARGETS:
                before = self.logits(model, target, "infer-shapes", tokens)
                for name in self.names:
                    with self.subTest(model=model, target=target, passes=name):
                        after = self.logits(model, target, "infer-shapes," + name, tokens)
                        self.check(before, after, name)

    def test_each_step_of_the_o2_pipeline(self):
        self.assertIn("fuse-attention", self.o2)
        for model in self.models:
            tokens = self.tokens(model)
            for target in TARGETS:
                for k in range(1, len(self.o2)):
                    first, step = ",".join(self.o2[:k]), ",".join(self.o2[:k + 1])
                    with self.subTest(model=model, target=target, passes=step):
                        self.check(self.logits(model, target, first, tokens),
                                   self.logits(model, target, step, tokens), self.o2[k])


if __name__ == "__main__":
    unittest.main()
