#!/usr/bin/env python3
"""`chord compile`'s files other than executables (those: tests/run/test_compiled.py): the kernels
of a model as a relocatable object for this host (an ELF file of the host's machine whose
functions are the kernels `chord ir --emit=asm` shows, and the program's table
chord_compiled_model), as LLVM IR and assembly with the same functions as `chord ir --emit`
prints for the same graph plus that table, for another target's machine with --target, and the
graph as IR text that `chord opt` reads back; and bad input: an unknown target or CPU, a bad
--emit or -O, an unwritable path, no -o, a missing model — each an error, a non-zero exit and no
file left at the output path."""
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
MACHINES = {"x86_64": 62, "aarch64": 183}  # ELF e_machine


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

    def elf(self, path):
        data = open(path, "rb").read()
        self.assertEqual(data[:4], b"\x7fELF")
        return struct.unpack_from("<HH", data, 16)  # e_type, e_machine

    def test_object_is_an_elf_of_this_host_with_the_kernels(self):
        path = self.out("k.o")
        r = chord("compile", "-m", self.model, "--emit", "obj", "-o", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        e_type, e_machine = self.elf(path)
        self.assertEqual(e_type, 1, "not a relocatable object")
        self.assertEqual(e_machine, MACHINES[os.uname().machine])
        symbols = subprocess.run(["nm", "--defined-only", path], capture_output=True, text=True,
                                 check=True).stdout
        defined = set(re.findall(r" T (chord_\w+)", symbols))
        asm = chord("ir", "-m", self.model, "-O2", "--last-logits", "--emit=asm")
        self.assertEqual(asm.returncode, 0, asm.stderr)
        shown = set(re.findall(r"^(chord_\w+):", asm.stdout, re.M))
        self.assertIn("chord_gemv_q4_k", defined)
        self.assertEqual(defined, shown)
        self.assertRegex(symbols, r" [RD] chord_compiled_model\n")

    def test_object_for_the_other_target(self):
        other = {"x86_64": "aarch64", "aarch64": "x86_64"}[os.uname().machine]
        path = self.out("k-" + other + ".o")
        r = chord("compile", "-m", self.model, "--emit", "obj", "--target", other + "-linux-gnu",
                  "-q", "-o", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.elf(path), (1, MACHINES[other]))

    def test_text_kinds_match_chord_ir(self):
        for kind, pattern in (("llvm", r"^define .*@(chord_\w+)\("), ("asm", r"^(chord_\w+):")):
            path = self.out("k." + kind)
            r = chord("compile", "-m", self.model, "--emit", kind, "-o", path)
            self.assertEqual(r.returncode, 0, r.stderr)
            ir = chord("ir", "-m", self.model, "-O2", "--last-logits", "--emit=" + kind)
            text = open(path).read()
            self.assertEqual(set(re.findall(pattern, text, re.M)) - {"chord_compiled_model"},
                             set(re.findall(pattern, ir.stdout, re.M)), kind)
            self.assertIn("chord_compiled_model", text)
            self.assertNotIn("chord_compiled_model", ir.stdout)
        path = self.out("g.cir")
        r = chord("compile", "-m", self.model, "--emit", "ir", "-O0", "-c", "2048", "-o", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(open(path).read(),
                         chord("ir", "-m", self.model, "--last-logits").stdout)
        self.assertEqual(chord("opt", path, "--stats").returncode, 0)

    def test_bad_input_is_an_error_and_leaves_no_file(self):
        path = self.out("bad.o")
        cases = [
            (["--target", "riscv64-linux-gnu"], "unknown target 'riscv64-linux-gnu'"),
            (["--cpu", "pentium9"], "unknown CPU 'pentium9'"),
            (["--emit", "elf"], "--emit takes"),
            (["-O7"], ""),
        ]
        for args, message in cases:
            r = chord("compile", "-m", self.model, *args, "-o", path)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn(message, r.stderr, args)
            self.assertFalse(os.path.exists(path), args)
        r = chord("compile", "-m", self.model, "--emit", "obj", "-o",
                  os.path.join(self.tmp.name, "no", "k.o"))
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
