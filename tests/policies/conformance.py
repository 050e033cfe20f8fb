"""What the conformance tests share: Gov literals for generated policies, and running a generated
policy's tests through both engines."""
import os
import subprocess


def gov_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def gov_list(items):
    return "[" + ", ".join(gov_string(a) for a in items) + "]"


def all_cases_pass(govc, policy, directory, name, expected):
    """Writes `policy` to DIRECTORY/NAME.gov and runs its tests natively and interpreted, printing
    govc's report; true when both pass all `expected` cases."""
    policy_file = os.path.join(directory, name + ".gov")
    with open(policy_file, "w") as out:
        out.write(policy)
    passed = True
    for engine in ([], ["--interp"]):
        done = subprocess.run([govc, "test", *engine, policy_file], capture_output=True, text=True)
        print(done.stdout + done.stderr)
        if done.returncode != 0 or f"{expected} cases, {expected} passed" not in done.stdout + done.stderr:
            passed = False
    return passed
