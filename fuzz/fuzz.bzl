"""reflex_fuzz_target: one libFuzzer target and its replay test."""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_test")

def reflex_fuzz_target(name, deps):
    """Declares //fuzz:NAME and //fuzz:NAME_replay.

    NAME links libFuzzer under --config=fuzz and the plain replay driver
    otherwise (then `bazel-bin/fuzz/NAME FILE...` reproduces a crash).
    NAME_replay is a test: every file of testdata/corpus/NAME and
    testdata/crashes/NAME through the entry point, in whatever config
    `bazel test` runs (default, asan). Tagged fuzz_replay: CI's ASan step
    skips it because CI's fuzz campaign runs the same files first, under
    ASan + UBSan, in the libFuzzer build.
    """
    srcs = [name + "_fuzzer.cc"]
    cc_binary(
        name = name,
        testonly = True,
        srcs = srcs,
        deps = deps + select({
            "//fuzz:libfuzzer": [],
            "//conditions:default": ["//fuzz:replay_main"],
        }),
        linkopts = select({
            "//fuzz:libfuzzer": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
    )
    cc_test(
        name = name + "_replay",
        size = "medium",
        tags = ["fuzz_replay"],
        srcs = srcs,
        deps = deps + ["//fuzz:replay_main"],
        args = [
            "$(locations //testdata:corpus_" + name + ")",
            "$(locations //testdata:crashes_" + name + ")",
        ],
        data = [
            "//testdata:corpus_" + name,
            "//testdata:crashes_" + name,
        ],
    )
