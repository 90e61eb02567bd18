"""The atheris harnesses here are programs, not tests: pytest (and its --doctest-modules) skips them."""

collect_ignore_glob = ["fuzz_*.py", "_harness.py"]
