"""chord template against Python's jinja2, end to end: for every case of data/reference.json
(every template of shared/testdata/templates and every built-in template, over every conversation
of data/conversations, add_generation_prompt on and off), chord prints exactly the text jinja2
rendered, or fails, with a message, where jinja2 raised (with the template's own message when the
template called raise_exception). The built-in gemma template runs through the default model,
which carries no template of its own, and the Phi-3 vocabulary's tokenizer.chat_template through
that file: their special tokens come from the files' vocabularies."""

import collections
import json
import os
import subprocess
import sys

CHORD = os.environ["CHORD"]
TEST_DATA = os.environ["CHORD_TEST_DATA"]
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")

with open(os.path.join(DATA, "reference.json"), encoding="utf-8") as f:
    reference = json.load(f)
env = dict(os.environ, CHORD_TEMPLATE_NOW=reference["now"])


def command(case):
    kind, name = case["template"].split("/", 1)
    args = [CHORD, "template"]
    if kind == "testdata":
        args += ["--chat-template-file", os.path.join(TEST_DATA, "templates", name)]
    elif kind == "builtin":
        args += ["--chat-template", name]
    # else the model's own template: -m below
    if case.get("model", "default") != "default":
        args += ["-m", os.path.join(TEST_DATA, case["model"])]
    if "bos_token" in case:
        args += ["--bos-token", case["bos_token"], "--eos-token", case["eos_token"]]
    conversation = os.path.join(DATA, "conversations", case["conversation"] + ".json")
    args += ["--messages", conversation]
    with open(conversation, encoding="utf-8") as f:
        kwargs = json.load(f).get("template_kwargs")
    if kwargs:
        args += ["--chat-template-kwargs", json.dumps(kwargs)]
    if not case["add_generation_prompt"]:
        args.append("--no-add-generation-prompt")
    return args


def check(case):
    """None if chord agrees with jinja2, else what differs."""
    proc = subprocess.run(command(case), capture_output=True, env=env)
    stdout, stderr = proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
    if "output" in case:
        if proc.returncode != 0:
            return f"chord failed: {stderr.strip()}"
        if stdout != case["output"]:
            at = next((i for i, (a, b) in enumerate(zip(stdout, case["output"])) if a != b),
                      min(len(stdout), len(case["output"])))
            return (f"output differs at character {at}:\n   jinja2: {case['output'][at - 40:at + 60]!r}"
                    f"\n   chord:  {stdout[at - 40:at + 60]!r}")
        return None
    if proc.returncode == 0:
        return f"jinja2 raised {case['error']!r} but chord printed {stdout[:200]!r}"
    if stdout or not stderr.startswith("chord: error: "):
        return f"a failure must print nothing and say why on stderr: {stderr!r}"
    raised = "TemplateError: "
    if case["error"].startswith(raised) and case["error"][len(raised):] not in stderr:
        return f"raise_exception's message {case['error']!r} is not in {stderr!r}"
    return None


per_template = collections.defaultdict(lambda: [0, 0])
failed = 0
for case in reference["cases"]:
    problem = check(case)
    per_template[case["template"]][0 if problem is None else 1] += 1
    if problem:
        failed += 1
        print(f"FAIL {case['template']} x {case['conversation']}"
              f" (add_generation_prompt={case['add_generation_prompt']}): {problem}")
for template, (good, bad) in sorted(per_template.items()):
    print(f"{'ok  ' if bad == 0 else 'FAIL'} {template}: {good} of {good + bad} cases match jinja2")
print(f"{len(reference['cases']) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
