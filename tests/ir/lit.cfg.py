# lit configuration for the IR golden tests: each .cir file carries its RUN lines and CHECKs.
# Parameters (from tests/ir/CMakeLists.txt): chord (the binary that has `opt`), filecheck, exec_root,
# testdata (../shared/testdata: the vocabulary files that `chord synth` takes).
import os

import lit.formats

config.name = "chord-ir"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".cir"]
config.excludes = ["Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = lit_config.params.get("exec_root", config.test_source_root)

chord = lit_config.params.get("chord")
filecheck = lit_config.params.get("filecheck", "FileCheck")
if not chord:
    lit_config.fatal("pass --param chord=PATH (the chord binary)")
# lit runs each test in its own directory: paths given relative to where lit was started
chord = os.path.abspath(chord)
if os.path.sep in filecheck:
    filecheck = os.path.abspath(filecheck)
config.substitutions.append(("%chord", chord))
config.substitutions.append(("%testdata", os.path.abspath(lit_config.params.get("testdata", "."))))
config.substitutions.append(("FileCheck", filecheck))

# `not` and FileCheck's neighbours (split-file, count) from the same LLVM.
if os.path.sep in filecheck:
    config.environment["PATH"] = os.pathsep.join(
        [os.path.dirname(filecheck), config.environment.get("PATH", os.environ.get("PATH", ""))])
