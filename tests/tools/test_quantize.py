#!/usr/bin/env python3
"""chord quantize: the quant mix matches llama.cpp's (tests/tools/data/quantize-reference.json,
made by scripts/make-quantize-reference.py), files round-trip through the gguf package with
values close to the original, metadata is copied, and failures leave no file."""
import os
import tempfile
import unittest

import numpy as np
from gguf import GGMLQuantizationType
from gguf.quants import dequantize

from tool_test import (DEFAULT_MODEL, VOCAB_DIR, GgufContents, chord, dry_run_types, info_json,
                       mini_vocab, reference, synth)

REF = reference()
CASES = {case["name"]: case for case in REF["cases"]}

# llama.cpp's LLAMA_FTYPE numbers, written down independently of chord's table.
LLAMA_FTYPE = {"F16": 1, "BF16": 32, "Q8_0": 7, "Q4_0": 2, "Q4_K_S": 14, "Q4_K_M": 15,
               "Q5_K_S": 16, "Q5_K_M": 17, "Q6_K": 18}

# Bound on the RMS error relative to the RMS of the weights, per tensor type (normal weights).
# (Measured: f16 2e-4, bf16 1.7e-3, q8_0 5.4e-3, q6_k 0.018, q5_k 0.037, q5_1 0.038, q5_0 0.043,
# q4_k 0.072, q4_1 0.078, q4_0 0.087.)
RELATIVE_ERROR = {"f32": 0.0, "f16": 5e-4, "bf16": 3e-3, "q8_0": 0.008, "q6_k": 0.025,
                  "q5_k": 0.045, "q5_1": 0.046, "q5_0": 0.052, "q4_k": 0.09, "q4_1": 0.095,
                  "q4_0": 0.11}


def tensor_values(path, info):
    """A tensor's values as f64, decoded by the gguf package; info is its chord info entry."""
    data = np.fromfile(path, dtype=np.uint8, count=info["bytes"], offset=info["offset"])
    return dequantize(data, GGMLQuantizationType[info["type"].upper()]).astype(np.float64).ravel()


def synth_case(tmp, case, vocab=None):
    """The case's F32 model; with vocab, that vocabulary instead of the case's (the mix does not
    depend on the vocabulary size: rows are n_embd long)."""
    suffix = "-mini" if vocab else ""
    path = os.path.join(tmp, case["name"] + suffix + "-f32.gguf")
    if not os.path.exists(path):
        synth(path, arch=case["arch"], dims=case["dims"],
              vocab=vocab or os.path.join(VOCAB_DIR, case["vocab"]), file_type="F32", seed=0)
    return path


class MixMatchesLlamaCpp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_every_case_and_file_type(self):
        for case in REF["cases"]:
            source = synth_case(self.tmp.name, case)
            self.assertEqual([t["name"] for t in info_json(source)["tensors"]], case["tensors"])
            for file_type in REF["file_types"]:
                with self.subTest(case=case["name"], file_type=file_type):
                    expected = dict(zip(case["tensors"], case["types"][file_type]))
                    out = chord("quantize", "--dry-run", source, file_type).stdout
                    self.assertEqual(dry_run_types(out), expected)
                    # synth picks the same types when it writes a file type directly.
                    out = chord("synth", "--arch", case["arch"], "--dims", case["dims"],
                                "--vocab", os.path.join(VOCAB_DIR, case["vocab"]), "--type",
                                file_type, "--dry-run").stdout
                    self.assertEqual(dry_run_types(out), expected)

    @unittest.skipUnless(os.path.exists(DEFAULT_MODEL), "no default model")
    def test_real_q4_k_m_file_keeps_its_mix(self):
        """llama.cpp made the default model's Q4_K_M mix; choosing Q4_K_M again changes nothing."""
        out = chord("quantize", "--dry-run", DEFAULT_MODEL, "Q4_K_M").stdout
        real = {t["name"]: t["type"] for t in info_json(DEFAULT_MODEL)["tensors"]}
        self.assertEqual(dry_run_types(out), real)

    @unittest.skipUnless(os.path.exists(DEFAULT_MODEL), "no default model")
    def test_real_model_requantized_to_q4_k_m(self):
        """The default model re-encoded to Q4_K_M gets llama.cpp's type for every tensor (Q5_0
        where rows of 640 do not fill Q4_K blocks). Straight from Q4_K_M every tensor would keep
        its type and just be copied, so the model goes through Q8_0 first: then every quantized
        tensor is decoded and encoded twice."""
        q8_0 = os.path.join(self.tmp.name, "real-q8_0.gguf")
        out = os.path.join(self.tmp.name, "real-q4_k_m.gguf")
        chord("quantize", "-q", DEFAULT_MODEL, q8_0, "Q8_0")
        chord("quantize", "-q", q8_0, out, "Q4_K_M")
        infos = {path: {t["name"]: t for t in info_json(path)["tensors"]}
                 for path in (DEFAULT_MODEL, q8_0, out)}
        tensors = {path: {name: (t["shape"], t["type"]) for name, t in info.items()}
                   for path, info in infos.items()}
        self.assertEqual({dtype for _, dtype in tensors[q8_0].values()}, {"f32", "q8_0"})
        self.assertEqual(tensors[out], tensors[DEFAULT_MODEL])
        # The Q5_0 encoder on real weights, decoded by the gguf package (from the offsets chord
        # info reports: gguf.GGUFReader takes seconds over this file's 262144 tokens).
        for name in ("blk.0.attn_q.weight", "blk.17.ffn_up.weight"):
            want, got = (tensor_values(path, infos[path][name]) for path in (DEFAULT_MODEL, out))
            self.assertEqual(infos[out][name]["type"], "q5_0", name)
            error = np.sqrt(np.mean((got - want) ** 2)) / np.sqrt(np.mean(want ** 2))
            self.assertLessEqual(error, RELATIVE_ERROR["q5_0"] + RELATIVE_ERROR["q8_0"], name)
        os.unlink(q8_0)
        os.unlink(out)


class RoundTrip(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.vocab = mini_vocab(os.path.join(cls.tmp.name, "mini-vocab.gguf"))
        cls.read = {}

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def contents(self, path):
        if path not in self.read:
            self.read[path] = GgufContents(path, with_values=True)
        return self.read[path]

    def check_round_trip(self, case_name, file_type, source=None):
        case = CASES[case_name]
        f32 = synth_case(self.tmp.name, case, vocab=self.vocab)
        source = source or f32
        out = os.path.join(self.tmp.name, f"{case_name}-{file_type}.gguf")
        chord("quantize", "-q", source, out, file_type)
        original, before, after = self.contents(f32), self.contents(source), self.contents(out)
        # Types are llama.cpp's; shapes are unchanged.
        expected = dict(zip(case["tensors"], case["types"][file_type]))
        self.assertEqual({n: dtype for n, (_, dtype) in after.tensors.items()}, expected)
        self.assertEqual({n: s for n, (s, _) in after.tensors.items()},
                         {n: s for n, (s, _) in original.tensors.items()})
        # Every key is copied; only general.file_type changes.
        self.assertEqual(after.fields["general.file_type"], LLAMA_FTYPE[file_type])
        self.assertEqual(set(after.fields), set(before.fields))
        for key, value in before.fields.items():
            if key != "general.file_type":
                self.assertEqual(after.fields[key], value, key)
        # Values decoded by the gguf package (not by chord) are close to the original weights;
        # a requantized file carries the first quantization's error too.
        first_error = 0.0 if source == f32 else RELATIVE_ERROR["q4_k"] + 0.02
        for name, want in original.values.items():
            got = after.values[name]
            error = np.sqrt(np.mean((got - want) ** 2)) / np.sqrt(np.mean(want ** 2))
            dtype = after.tensors[name][1]
            self.assertLessEqual(error, RELATIVE_ERROR[dtype] + first_error, f"{name} as {dtype}")
        return out

    def test_every_file_type(self):
        for file_type in REF["file_types"]:
            with self.subTest(file_type=file_type):
                self.check_round_trip("llama-8", file_type)

    def test_tied_qwen2(self):
        self.check_round_trip("qwen2-9-tied", "Q4_K_M")

    def test_rows_that_fall_back_to_f16(self):
        for file_type in ("Q4_0", "Q4_K_M"):
            with self.subTest(file_type=file_type):
                self.check_round_trip("qwen2-f16-fallback", file_type)

    def test_rows_that_fall_back_to_q5_and_q8_0(self):
        """Rows of 320 fill no K blocks: Q4_K falls back to Q5_0, Q5_K to Q5_1, Q6_K to Q8_0."""
        for file_type in ("Q4_K_S", "Q4_K_M", "Q5_K_M"):
            with self.subTest(file_type=file_type):
                self.check_round_trip("llama-odd", file_type)

    def test_requantize_a_quantized_file(self):
        """A Q4_K_M input is decoded first; the mix is chosen as for the original."""
        q4 = self.check_round_trip("llama-8", "Q4_K_M")
        self.check_round_trip("llama-8", "Q8_0", source=q4)

    def test_threads_do_not_change_the_bytes(self):
        f32 = synth_case(self.tmp.name, CASES["llama-8"], vocab=self.vocab)
        a, b = (os.path.join(self.tmp.name, n) for n in ("t1.gguf", "t2.gguf"))
        chord("quantize", "-q", "-t", "1", f32, a, "Q4_K_M")
        chord("quantize", "-q", "-t", "3", f32, b, "Q4_K_M")
        with open(a, "rb") as fa, open(b, "rb") as fb:
            self.assertEqual(fa.read(), fb.read())


class QuantizeErrors(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = os.path.join(self.tmp.name, "out.gguf")
        self.f32 = synth(os.path.join(self.tmp.name, "in.gguf"), arch="llama",
                         dims="n_embd=256,n_layer=2,n_head=4,n_ff=512")

    def tearDown(self):
        self.tmp.cleanup()

    def check_fails(self, args, message, out=None):
        out = out or self.out
        result = chord("quantize", *args, check=False)
        self.assertNotEqual(result.returncode, 0, args)
        self.assertIn(message, result.stderr, args)
        self.assertFalse(os.path.exists(out), f"{args} left {out}")
        self.assertEqual(sorted(os.listdir(self.tmp.name)), ["in.gguf"], args)

    def test_bad_inputs(self):
        not_gguf = os.path.join(os.path.dirname(os.path.abspath(__file__)), "test_quantize.py")
        cases = [
            ([self.f32, self.out, "Q3_K_M"], "unknown TYPE 'Q3_K_M'"),
            ([self.f32, self.out], "expected IN.gguf OUT.gguf TYPE"),
            ([self.f32 + ".missing", self.out, "Q8_0"], "cannot open"),
            ([not_gguf, self.out, "Q8_0"], "test_quantize.py"),
            (["--threads", "0", self.f32, self.out, "Q8_0"], "--threads"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                self.check_fails(args, message)
        missing_dir = os.path.join(self.tmp.name, "no-such-dir", "out.gguf")
        self.check_fails([self.f32, missing_dir, "Q8_0"], "cannot create", out=missing_dir)


if __name__ == "__main__":
    unittest.main(verbosity=2)
