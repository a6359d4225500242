#!/usr/bin/env python3
"""chord synth: tensor names and shapes of llama.cpp's conversion for each architecture, the
metadata llama.cpp reads, the tokenizer of --vocab, seeded weights, and clean failures."""
import filecmp
import os
import tempfile
import unittest

import numpy as np

from tool_test import (DEFAULT_MODEL, GPT2_VOCAB, SPM_VOCAB, GgufContents, chord, dry_run_types,
                       gguf_fields, gguf_tensors, info_json, mini_vocab, synth)

# That llama.cpp loads synth files of each architecture (its loader checks every tensor's name
# and shape against the architecture) and gives finite logits is checked where llama.cpp is at
# hand: scripts/make-logits-reference.py synthesizes F32 models of all three architectures, runs
# them in llama.cpp and fails loudly if llama.cpp refuses a file or gives non-finite logits; the
# logits it stores are what tests/interp/test_synth_logits.py compares `chord logits` against.
# The test suite itself does not need llama.cpp.

SMALL = {
    "llama": ("n_embd=256,n_layer=2,n_head=4,n_head_kv=2,n_ff=512", SPM_VOCAB),
    "qwen2": ("n_embd=256,n_layer=2,n_head=4,n_head_kv=2,n_ff=512", GPT2_VOCAB),
    "gemma3": ("n_embd=256,n_layer=2,n_head=4,n_head_kv=1,head_dim=128,n_ff=512", SPM_VOCAB),
}


def parse_dims(text):
    return {k: int(v) for k, v in (item.split("=") for item in text.split(","))}


def expected_tensors(arch, d, n_vocab, tied):
    """name -> shape (innermost first), written down from llama.cpp's tensor naming."""
    e, ff = d["n_embd"], d["n_ff"]
    hd = d.get("head_dim", e // d["n_head"])
    q, kv = d["n_head"] * hd, d.get("n_head_kv", d["n_head"]) * hd
    t = {"token_embd.weight": [e, n_vocab], "output_norm.weight": [e]}
    if not tied:
        t["output.weight"] = [e, n_vocab]
    for i in range(d["n_layer"]):
        b = f"blk.{i}."
        t.update({b + "attn_norm.weight": [e], b + "attn_q.weight": [e, q],
                  b + "attn_k.weight": [e, kv], b + "attn_v.weight": [e, kv],
                  b + "attn_output.weight": [q, e], b + "ffn_norm.weight": [e],
                  b + "ffn_gate.weight": [e, ff], b + "ffn_up.weight": [e, ff],
                  b + "ffn_down.weight": [ff, e]})
        if arch == "qwen2":
            t.update({b + "attn_q.bias": [q], b + "attn_k.bias": [kv], b + "attn_v.bias": [kv]})
        if arch == "gemma3":
            t.update({b + "attn_q_norm.weight": [hd], b + "attn_k_norm.weight": [hd],
                      b + "post_attention_norm.weight": [e], b + "post_ffw_norm.weight": [e]})
    return t


class SynthArchitectures(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def check_arch(self, arch):
        dims, vocab = SMALL[arch]
        out = synth(os.path.join(self.tmp.name, arch + ".gguf"), arch=arch, dims=dims,
                    vocab=vocab, file_type="Q4_K_M", seed=7)
        d = parse_dims(dims)
        vocab_fields = GgufContents(vocab).fields
        n_vocab = len(vocab_fields["tokenizer.ggml.tokens"])
        expected = expected_tensors(arch, d, n_vocab, tied=(arch == "gemma3"))

        # The gguf package and chord info read the same tensors, names and shapes.
        contents = GgufContents(out)
        tensors = contents.tensors
        self.assertEqual({n: s for n, (s, _) in tensors.items()}, expected)
        info = info_json(out)
        self.assertEqual({t["name"]: t["shape"] for t in info["tensors"]}, expected)
        self.assertEqual({t["name"]: t["type"] for t in info["tensors"]},
                         {n: dtype for n, (_, dtype) in tensors.items()})
        self.assertEqual(info["architecture"], arch)
        for name, (shape, dtype) in tensors.items():
            if len(shape) == 1:
                self.assertEqual(dtype, "f32", name)  # norms and biases stay f32
            else:
                self.assertIn(dtype, ("q4_k", "q6_k"), name)
        # Q4_K_M's output projection (token_embd when tied) is Q6_K.
        self.assertEqual(tensors["token_embd.weight" if arch == "gemma3" else "output.weight"][1],
                         "q6_k")

        # Metadata: general.*, the hyper-parameters, and every tokenizer key of the vocabulary.
        fields = contents.fields
        self.assertEqual(fields["general.architecture"], arch)
        self.assertIn("synthetic, seed 7", fields["general.name"])
        self.assertEqual(fields["general.file_type"], 15)
        self.assertEqual(fields["general.quantization_version"], 2)
        self.assertEqual(fields[arch + ".embedding_length"], d["n_embd"])
        self.assertEqual(fields[arch + ".block_count"], d["n_layer"])
        self.assertEqual(fields[arch + ".feed_forward_length"], d["n_ff"])
        self.assertEqual(fields[arch + ".attention.head_count"], d["n_head"])
        self.assertEqual(fields[arch + ".attention.head_count_kv"], d["n_head_kv"])
        self.assertIn(arch + ".context_length", fields)
        self.assertIn(arch + ".rope.freq_base", fields)
        self.assertIn(arch + ".attention.layer_norm_rms_epsilon", fields)
        if arch == "gemma3":
            self.assertEqual(fields["gemma3.attention.key_length"], d["head_dim"])
            self.assertEqual(fields["gemma3.attention.sliding_window"], 512)
        if arch == "llama":
            self.assertEqual(fields["llama.vocab_size"], n_vocab)
        tokenizer_keys = {k for k in vocab_fields if k.startswith("tokenizer.")}
        self.assertEqual({k for k in fields if k.startswith("tokenizer.")}, tokenizer_keys)
        for k in tokenizer_keys:
            self.assertEqual(fields[k], vocab_fields[k], k)

    def test_llama(self):
        self.check_arch("llama")

    def test_qwen2(self):
        self.check_arch("qwen2")

    def test_gemma3(self):
        self.check_arch("gemma3")


class SynthWeights(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.path = lambda name: os.path.join(self.tmp.name, name)
        self.vocab = mini_vocab(self.path("vocab.gguf"))

    def tearDown(self):
        self.tmp.cleanup()

    def test_distributions(self):
        import gguf
        out = synth(self.path("w.gguf"), arch="qwen2", dims=SMALL["qwen2"][0], vocab=self.vocab)
        for t in gguf.GGUFReader(out).tensors:
            data = np.asarray(t.data, dtype=np.float64).ravel()
            self.assertEqual(t.tensor_type.name, "F32")
            mean = 1.0 if t.name.endswith("norm.weight") else 0.0
            self.assertLess(abs(data.mean() - mean), 0.01, t.name)
            if data.size >= 10000:
                self.assertAlmostEqual(data.std(), 0.02, delta=0.001, msg=t.name)

    def test_seed_determinism(self):
        dims, v = SMALL["llama"], self.vocab
        a = synth(self.path("a.gguf"), arch="llama", dims=dims[0], vocab=v, seed=3,
                  file_type="Q4_K_M")
        b = synth(self.path("b.gguf"), arch="llama", dims=dims[0], vocab=v, seed=3,
                  file_type="Q4_K_M", extra=["--threads", "1"])
        c = synth(self.path("c.gguf"), arch="llama", dims=dims[0], vocab=v, seed=4,
                  file_type="Q4_K_M")
        self.assertTrue(filecmp.cmp(a, b, shallow=False), "same seed, different bytes")
        self.assertFalse(filecmp.cmp(a, c, shallow=False), "different seeds, same bytes")
        # Only the tensor data and the name (which carries the seed) differ.
        ta, tc = gguf_tensors(a), gguf_tensors(c)
        self.assertEqual(ta, tc)


class SynthShapes(unittest.TestCase):
    # Parameter counts with a 32000-token vocabulary; for TinyLlama and Llama 2 7B (whose
    # vocabulary is 32000) these are the published counts.
    PARAMETERS_32K = {
        "tinyllama-1.1b": 1100048384,
        "llama-2-7b": 6738415616,
        "llama-3-8b": 7241732096,
        "qwen2.5-0.5b": 386570112,
        "qwen2.5-7b": 6754997760,
    }

    def test_list_shapes(self):
        out = chord("synth", "--list-shapes").stdout
        for name in list(self.PARAMETERS_32K) + ["gemma3-270m"]:
            self.assertIn(name, out)

    def test_parameter_counts(self):
        for shape, parameters in self.PARAMETERS_32K.items():
            out = chord("synth", "--shape", shape, "--vocab", SPM_VOCAB, "--dry-run").stdout
            self.assertIn(f" {parameters} parameters", out, shape)

    def test_gemma3_270m_matches_the_real_file(self):
        """With the real model's vocabulary, synth plans the real file's tensors, shapes and
        Q4_K_M types, tensor for tensor. Setup always installs the default model: its absence
        is a failure, not a skip."""
        self.assertTrue(os.path.exists(DEFAULT_MODEL), "no default model at " + DEFAULT_MODEL)
        out = chord("synth", "--shape", "gemma3-270m", "--vocab", DEFAULT_MODEL, "--type",
                    "Q4_K_M", "--dry-run").stdout
        planned = dry_run_types(out)
        # chord info reads the real file (the gguf package takes long over 262144 tokens).
        real = {t["name"]: (t["shape"], t["type"]) for t in info_json(DEFAULT_MODEL)["tensors"]}
        self.assertEqual(planned, {n: dtype for n, (_, dtype) in real.items()})
        shapes = {}
        for line in out.splitlines():
            parts = line.split()
            if parts and parts[0] in real:
                shapes[parts[0]] = [int(p) for p in parts[1:] if p.isdigit()]
        self.assertEqual(shapes, {n: s for n, (s, _) in real.items()})
        parameters = sum(int(np.prod(s)) for s, _ in real.values())
        self.assertIn(f" {parameters} parameters", out)

    def test_gemma3_270m_layer_in_q4_k_m(self):
        """Gemma 3 270M's rows of 640 fill no Q4_K blocks: Q4_K_M writes them as Q5_0, and the
        file holds exactly the types the dry run lists."""
        with tempfile.TemporaryDirectory() as tmp:
            vocab = mini_vocab(os.path.join(tmp, "vocab.gguf"))
            args = ["--shape", "gemma3-270m", "--dims", "n_layer=1", "--type", "Q4_K_M"]
            planned = dry_run_types(chord("synth", *args, "--vocab", vocab, "--dry-run").stdout)
            out = synth(os.path.join(tmp, "t.gguf"), shape="gemma3-270m", dims="n_layer=1",
                        vocab=vocab, file_type="Q4_K_M")
            written = {n: dtype for n, (_, dtype) in gguf_tensors(out).items()}
            self.assertEqual(written, planned)
            self.assertEqual(written["blk.0.attn_q.weight"], "q5_0")

    def test_shape_metadata(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = synth(os.path.join(tmp, "t.gguf"), shape="tinyllama-1.1b", dims="n_layer=1",
                        vocab=mini_vocab(os.path.join(tmp, "vocab.gguf")), file_type="Q8_0")
            f = gguf_fields(out)
            self.assertEqual(f["llama.embedding_length"], 2048)
            self.assertEqual(f["llama.block_count"], 1)
            self.assertEqual(f["llama.attention.head_count"], 32)
            self.assertEqual(f["llama.attention.head_count_kv"], 4)
            self.assertEqual(f["llama.feed_forward_length"], 5632)
            self.assertEqual(f["llama.context_length"], 2048)
            self.assertEqual(f["llama.rope.freq_base"], 10000.0)
            self.assertEqual(f["general.file_type"], 7)
            self.assertIn("TinyLlama 1.1B", f["general.name"])


class SynthErrors(unittest.TestCase):
    """Every bad input: a non-zero exit, a message that names the problem, and no file."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = os.path.join(self.tmp.name, "out.gguf")
        import gguf
        self.no_tokenizer = os.path.join(self.tmp.name, "no-tokenizer.gguf")
        w = gguf.GGUFWriter(self.no_tokenizer, "llama")
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()

    def tearDown(self):
        self.tmp.cleanup()

    def check_fails(self, args, message, out=None):
        out = out or self.out
        result = chord("synth", *args, check=False)
        self.assertNotEqual(result.returncode, 0, args)
        self.assertIn(message, result.stderr, args)
        self.assertFalse(os.path.exists(out), f"{args} left {out}")
        leftovers = [n for n in os.listdir(self.tmp.name) if n != "no-tokenizer.gguf"]
        self.assertEqual(leftovers, [], args)

    def test_bad_inputs(self):
        dims = "n_embd=256,n_layer=2,n_head=4,n_ff=512"
        base = ["--vocab", SPM_VOCAB, "-o", self.out]
        cases = [
            (["--arch", "mamba", "--dims", dims] + base, "unknown architecture 'mamba'"),
            (["--shape", "llama-9000b"] + base, "unknown shape 'llama-9000b'"),
            (["--arch", "llama"] + base, "needs --dims"),
            (["--arch", "llama", "--dims", "n_emb=256"] + base, "unknown key 'n_emb'"),
            (["--arch", "llama", "--dims", "n_embd=abc"] + base, "n_embd=abc"),
            (["--arch", "llama", "--dims", "n_embd"] + base, "not key=value"),
            (["--arch", "llama", "--dims", "n_layer=2,n_head=4,n_ff=512"] + base,
             "n_embd is required"),
            (["--arch", "llama", "--dims", "n_embd=250,n_layer=2,n_head=4,n_ff=512"] + base,
             "not a multiple of n_head"),
            (["--arch", "llama", "--dims", dims + ",n_head_kv=3"] + base,
             "not a multiple of n_head_kv"),
            (["--arch", "qwen2", "--dims", dims + ",head_dim=32"] + base, "n_head × head_dim"),
            (["--arch", "llama", "--dims", dims + ",sliding_window=64"] + base,
             "no sliding-window"),
            (["--shape", "gemma3-270m", "--arch", "qwen2"] + base, "is a gemma3 model"),
            (["--arch", "llama", "--dims", dims, "--type", "Q3_K_M"] + base, "unknown --type"),
            (["--arch", "llama", "--dims", dims, "-o", self.out], "--vocab FILE is required"),
            (["--arch", "llama", "--dims", dims, "--vocab", self.no_tokenizer, "-o", self.out],
             "no tokenizer"),
            (["--arch", "llama", "--dims", dims, "--vocab", self.out + ".missing", "-o", self.out],
             "cannot open"),
            (["--arch", "llama", "--dims", dims, "--seed", "-1"] + base, "--seed"),
            (["--arch", "llama", "--dims", dims, "--bogus"] + base, "invalid option"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                self.check_fails(args, message)

    def test_unwritable_output(self):
        dims = "n_embd=256,n_layer=2,n_head=4,n_ff=512"
        missing_dir = os.path.join(self.tmp.name, "no-such-dir", "out.gguf")
        self.check_fails(["--arch", "llama", "--dims", dims, "--vocab", SPM_VOCAB, "-o",
                          missing_dir], "cannot create", out=missing_dir)
        directory = os.path.join(self.tmp.name, "a-directory")
        os.mkdir(directory)
        result = chord("synth", "--arch", "llama", "--dims", dims, "--vocab", SPM_VOCAB, "-o",
                       directory, check=False)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("is a directory", result.stderr)
        self.assertEqual(os.listdir(directory), [])
        os.rmdir(directory)


if __name__ == "__main__":
    unittest.main(verbosity=2)
