#!/usr/bin/python3
"""Checks .github/workflows against what GitHub Actions and ClusterFuzzLite
require (they cannot run here, so this is how a broken file is caught).

  check_workflows.py DIR PROJECT_YAML   checks every *.yml in DIR
  check_workflows.py --self-test DIR PROJECT_YAML
                                        also checks that each kind of damage
                                        to the files is reported

Prints one line per problem and "workflows: N files, M problems"; exits 1 on
any problem.
"""
import copy
import os
import sys

import yaml

CFLITE_BUILD = "google/clusterfuzzlite/actions/build_fuzzers@v1"
CFLITE_RUN = "google/clusterfuzzlite/actions/run_fuzzers@v1"
MODES = {"code-change", "batch", "prune", "coverage"}
SANITIZERS = {"address", "undefined", "memory", "coverage"}


def triggers(doc):
    # YAML 1.1 reads a bare `on` key as the boolean true.
    return doc.get("on", doc.get(True))


def check_job(name, job, problems):
    if not isinstance(job, dict):
        problems.append(f"job {name}: not a mapping")
        return
    if "runs-on" not in job:
        problems.append(f"job {name}: no runs-on")
    steps = job.get("steps")
    if not isinstance(steps, list) or not steps:
        problems.append(f"job {name}: no steps")
        return
    for i, step in enumerate(steps):
        if not isinstance(step, dict) or (("uses" in step) == ("run" in step)):
            problems.append(f"job {name}: step {i} needs exactly one of uses and run")


def sanitizers_of(job, value):
    """The sanitizers a step's `sanitizer` input takes (a matrix expanded)."""
    if value is None:
        return {"address"}  # ClusterFuzzLite's default
    if isinstance(value, str) and "matrix.sanitizer" in value:
        matrix = job.get("strategy", {}).get("matrix", {})
        return set(matrix.get("sanitizer", []))
    return {value}


def cflite_steps(doc):
    """(job, build step, run step) of each ClusterFuzzLite job."""
    for name, job in (doc.get("jobs") or {}).items():
        steps = job.get("steps", []) if isinstance(job, dict) else []
        build = [s for s in steps if isinstance(s, dict) and s.get("uses") == CFLITE_BUILD]
        run = [s for s in steps if isinstance(s, dict) and s.get("uses") == CFLITE_RUN]
        if build or run:
            yield name, job, build, run


def check_cflite(doc, language, problems):
    modes = {}
    for name, job, build, run in cflite_steps(doc):
        if len(build) != 1 or len(run) != 1:
            problems.append(f"job {name}: needs one build_fuzzers step and one run_fuzzers step")
            continue
        b, r = build[0].get("with") or {}, run[0].get("with") or {}
        if b.get("language") != language:
            problems.append(f"job {name}: build language {b.get('language')!r}, project.yaml says {language!r}")
        mode = r.get("mode")
        if mode not in MODES:
            problems.append(f"job {name}: run_fuzzers mode {mode!r} is not one of {sorted(MODES)}")
        if not isinstance(r.get("fuzz-seconds"), int) or r["fuzz-seconds"] <= 0:
            problems.append(f"job {name}: fuzz-seconds must be a positive number")
        if "github-token" not in r:
            problems.append(f"job {name}: run_fuzzers needs github-token")
        built = sanitizers_of(job, b.get("sanitizer"))
        fuzzed = sanitizers_of(job, r.get("sanitizer"))
        if not built or built != fuzzed or not built <= SANITIZERS:
            problems.append(f"job {name}: built for {sorted(built)}, run for {sorted(fuzzed)}")
        modes.setdefault(mode, set()).update(fuzzed)
    return modes


def check_file(path, doc, language, problems):
    before = len(problems)
    if not isinstance(doc, dict):
        problems.append("not a mapping")
    else:
        for key in ("name", "jobs"):
            if key not in doc:
                problems.append(f"no {key}")
        if not triggers(doc):
            problems.append("no on: (triggers)")
        for name, job in (doc.get("jobs") or {}).items():
            check_job(name, job, problems)
    for i in range(before, len(problems)):
        problems[i] = f"{os.path.basename(path)}: {problems[i]}"


def check_all(docs, language):
    """docs: {path: parsed YAML}. The problems found, as lines."""
    problems = []
    modes = {}
    for path, doc in sorted(docs.items()):
        check_file(path, doc, language, problems)
        if isinstance(doc, dict):
            found = []
            for mode, sanitizers in check_cflite(doc, language, found).items():
                modes.setdefault(mode, set()).update(sanitizers)
            problems += [f"{os.path.basename(path)}: {p}" for p in found]
    # What the project promises: PR fuzzing with ASan and UBSan, a scheduled
    # batch run, corpus pruning, and the test suite.
    if not {"address", "undefined"} <= modes.get("code-change", set()):
        problems.append("no pull-request fuzzing (mode code-change) with both address and undefined")
    for mode in ("batch", "prune"):
        if mode not in modes:
            problems.append(f"no {mode} run")
    for path, doc in docs.items():
        if isinstance(doc, dict) and "batch" in check_cflite(doc, language, []):
            if "schedule" not in (triggers(doc) or {}):
                problems.append(f"{os.path.basename(path)}: batch fuzzing without a schedule")
    runs = [s.get("run", "") for doc in docs.values() if isinstance(doc, dict)
            for job in (doc.get("jobs") or {}).values() if isinstance(job, dict)
            for s in job.get("steps", []) if isinstance(s, dict)]
    # The README's command itself, not a sanitizer variant of it.
    plain_test = any(r.startswith("bazel test") and r.rstrip().endswith("//...") and "--config" not in r
                     for r in runs)
    if not any("tools/bootstrap.sh" in r for r in runs) or not plain_test:
        problems.append("no workflow runs tools/bootstrap.sh and bazel test //...")
    return problems


def load(directory, project_yaml):
    docs = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith((".yml", ".yaml")):
            path = os.path.join(directory, name)
            with open(path) as f:
                docs[path] = yaml.safe_load(f)
    with open(project_yaml) as f:
        language = (yaml.safe_load(f) or {}).get("language")
    return docs, language


def damaged_copies(docs):
    """(what was broken, the damaged docs): each must draw a problem."""
    def edit(label, path_part, change):
        out = copy.deepcopy(docs)
        for path, doc in out.items():
            if path_part in path:
                change(doc)
        return label, out

    def first_run(doc):
        return next(s for j in doc["jobs"].values() for s in j["steps"] if s.get("uses") == CFLITE_RUN)

    def first_build(doc):
        return next(s for j in doc["jobs"].values() for s in j["steps"] if s.get("uses") == CFLITE_BUILD)

    return [
        edit("jobs removed", "cflite_pr", lambda d: d.pop("jobs")),
        edit("triggers removed", "tests", lambda d: d.pop(True, d.pop("on", None))),
        edit("a mode misspelled", "cflite_pr", lambda d: first_run(d)["with"].update(mode="code_change")),
        edit("UBSan dropped from PR fuzzing", "cflite_pr",
             lambda d: d["jobs"]["PR"]["strategy"]["matrix"].update(sanitizer=["address"])),
        edit("the batch schedule removed", "cflite_batch",
             lambda d: triggers(d).pop("schedule")),
        edit("wrong language", "cflite_cron", lambda d: first_build(d)["with"].update(language="go")),
        edit("a step with neither uses nor run", "tests",
             lambda d: d["jobs"]["test"]["steps"].append({"name": "nothing"})),
        edit("the test command removed", "tests",
             lambda d: d["jobs"]["test"]["steps"].pop(2)),
        edit("pruning removed", "cflite_cron", lambda d: d["jobs"].pop("Pruning")),
    ]


def main(argv):
    self_test = argv[1:2] == ["--self-test"]
    args = argv[2:] if self_test else argv[1:]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    docs, language = load(*args)
    problems = check_all(docs, language)
    for p in problems:
        print(f"workflows: {p}")
    print(f"workflows: {len(docs)} files, {len(problems)} problems")
    if self_test:
        for label, damaged in damaged_copies(docs):
            found = check_all(damaged, language)
            print(f"self-test: {label}: {'reported' if found else 'NOT REPORTED'}"
                  + (f" ({found[0]})" if found else ""))
            if not found:
                problems.append(f"self-test: {label} not reported")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
