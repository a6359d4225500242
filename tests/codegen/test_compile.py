#!/usr/bin/env python3
"""`chord compile` (issue 8, first part): the kernels of a model as a relocatable object for this
host (an ELF file of the host's machine whose symbols are the kernels `chord ir --emit=asm`
shows), as LLVM IR and assembly equal to what `chord ir --emit` prints for the same graph, and
the graph as IR text that `chord opt` reads back; and bad input: an unknown or foreign target, a
named CPU, an --emit not built yet, an unwritable path, no -o — each an error, a non-zero exit
and no file left at the output path."""
import os
import re
import struct
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interp"))
import test_synth_logits as synth  # noqa: E402

CHORD = os.environ.get("CHORD", "chord")


def chord(*args):
    return subprocess.run([CHORD, *args], capture_output=True, text=True, timeout=600)


class Compile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        arch, dims, vocab, file_type, _ = synth.CASES["llama-q4_k_m"]
        cls.model = os.path.join(cls.tmp.name, "m.gguf")
        r = chord("synth", "--arch", arch, "--dims", dims, "--type", file_type, "--vocab",
                  os.path.join(synth.DATA, "vocab", vocab), "-q", "-o", cls.model)
        assert r.returncode == 0, r.stderr

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def out(self, name):
        return os.path.join(self.tmp.name, name)

    def test_object_is_an_elf_of_this_host_with_the_kernels(self):
        path = self.out("k.o")
        r = chord("compile", "-m", self.model, "--emit", "obj", "-o", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        data = open(path, "rb").read()
        self.assertEqual(data[:4], b"\x7fELF")
        e_type, e_machine = struct.unpack_from("<HH", data, 16)
        self.assertEqual(e_type, 1, "not a relocatable object")
        machine = os.uname().machine
        self.assertEqual(e_machine, {"x86_64": 62, "aarch64": 183}[machine])
        symbols = subprocess.run(["nm", "--defined-only", path], capture_output=True, text=True,
                                 check=True).stdout
        defined = set(re.findall(r" T (chord_\w+)", symbols))
        asm = chord("ir", "-m", self.model, "-O2", "--last-logits", "--emit=asm")
        self.assertEqual(asm.returncode, 0, asm.stderr)
        shown = set(re.findall(r"^(chord_\w+):", asm.stdout, re.M))
        self.assertIn("chord_gemv_q4_k", defined)
        self.assertEqual(defined, shown)

    def test_text_kinds_match_chord_ir(self):
        for kind in ("llvm", "asm"):
            path = self.out("k." + kind)
            r = chord("compile", "-m", self.model, "--emit", kind, "-o", path)
            self.assertEqual(r.returncode, 0, r.stderr)
            ir = chord("ir", "-m", self.model, "-O2", "--last-logits", "--emit=" + kind)
            self.assertEqual(open(path).read(), ir.stdout, kind)
        path = self.out("g.cir")
        r = chord("compile", "-m", self.model, "--emit", "ir", "-O0", "-o", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(open(path).read(),
                         chord("ir", "-m", self.model, "--last-logits").stdout)
        self.assertEqual(chord("opt", path, "--stats").returncode, 0)

    def test_bad_input_is_an_error_and_leaves_no_file(self):
        path = self.out("bad.o")
        cases = [
            (["--target", "riscv64-linux-gnu"], "unknown target 'riscv64-linux-gnu'"),
            (["--target", "aarch64-linux-gnu" if os.uname().machine == "x86_64"
              else "x86_64-linux-gnu"], "cross compilation is not built yet"),
            (["--cpu", "znver4"], "only native"),
            (["--emit", "exe"], "not built yet"),
            (["--emit", "elf"], "--emit takes"),
            (["-O7"], ""),
        ]
        for args, message in cases:
            r = chord("compile", "-m", self.model, *args, "-o", path)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn(message, r.stderr, args)
            self.assertFalse(os.path.exists(path), args)
        r = chord("compile", "-m", self.model, "-o", os.path.join(self.tmp.name, "no", "k.o"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cannot create", r.stderr)
        r = chord("compile", "-m", self.model)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("-o OUT is required", r.stderr)
        r = chord("compile", "-m", os.path.join(self.tmp.name, "missing.gguf"), "-o", path)
        self.assertNotEqual(r.returncode, 0)
        self.assertFalse(os.path.exists(path))
        left = [n for n in os.listdir(self.tmp.name) if ".tmp." in n]
        self.assertEqual(left, [], "a temporary output was left behind")


if __name__ == "__main__":
    unittest.main()
