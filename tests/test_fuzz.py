"""Property-based fuzzing with a fixed budget (runs in CI): readers never fail but by refusing.

- the parser: any text is a Program or a refusal (ParseError, or LimitError for input
  over a documented limit), never another exception;
- the spec loader: any YAML/JSON/TOML-ish text is a spec or a refusal (SpecError, LimitError);
- the answer loader: any answer-file text is a loaded check or a refusal (BackproofError);
- ``main([...])`` on random argv assembled from the real subcommands and hostile values:
  exit 0, 1 or 2, never 3 (internal error), no traceback, one line on a refusal.

Every example runs in a forked child (see :func:`bounded`) with ``RLIMIT_AS`` and a hang
guard, so an input that makes a reader loop or allocate without bound fails the example
instead of stalling or exhausting the machine. The budgets are fixed
(``max_examples`` per property, times ``BACKPROOF_FUZZ_SCALE``; ``deadline=None`` because a
fork costs milliseconds that vary with the machine); the ``ci`` profile in conftest.py is
derandomized, so CI sees the same inputs each run. The atheris harnesses in tests/fuzz/
run the same readers for longer.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import tempfile
import time
import traceback
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backproof.errors import BackproofError, LimitError, ParseError, SpecError
from hostile_cases import CANARY, KEY, PROBLEM, SUBMISSION, Case, spec_yaml
from test_hostile import HANG_GUARD, check_case, run_case

resource = pytest.importorskip("resource")

#: Examples per property (scale them all with BACKPROOF_FUZZ_SCALE, e.g. 10 for a long local run).
SCALE = float(os.environ.get("BACKPROOF_FUZZ_SCALE", "1"))


def budget(n: int) -> settings:
    return settings(
        max_examples=max(1, int(n * SCALE)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


def _vm_size() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 1024**3


def _call(fn, args, refusals):
    try:
        fn(*args)
    except refusals as exc:
        return ("refused", f"{type(exc).__name__}: {exc}"[:300])
    except BaseException as exc:
        return ("crashed", "".join(traceback.format_exception(exc))[-3000:])
    return ("ok", "")


def bounded(fn, *args, refusals=(BackproofError,)) -> tuple[str, str]:
    """Run ``fn(*args)`` in a forked child with 2 GiB of memory headroom and a hang guard.

    Returns ``("ok", "")``, ``("refused", message)``, ``("crashed", traceback)`` or
    ``("hung", "")``. The guard (``HANG_GUARD`` seconds) is there so a hang fails the
    example instead of the whole run; it asserts nothing about speed.
    """
    limit = _vm_size() + 2 * 1024**3
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into pytest
        code = 1
        try:
            os.close(r)
            os.setpgid(0, 0)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            data = pickle.dumps(_call(fn, args, refusals))
            with os.fdopen(w, "wb") as fh:
                fh.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    deadline = time.monotonic() + HANG_GUARD
    chunks = []
    os.set_blocking(r, False)
    hung = False
    while True:
        try:
            chunk = os.read(r, 65536)
            if chunk:
                chunks.append(chunk)
            else:
                break
        except BlockingIOError:
            if time.monotonic() > deadline:
                hung = True
                break
            time.sleep(0.005)
    os.close(r)
    if hung:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, status = os.waitpid(pid, 0)
    if hung:
        return ("hung", "")
    if not chunks:
        return ("crashed", f"the child died (wait status {status})")
    return pickle.loads(b"".join(chunks))


def assert_refused_or_ok(outcome, text) -> None:
    kind, detail = outcome
    assert kind != "hung", f"no answer after {HANG_GUARD:g} s on {text[:300]!r}"
    assert kind != "crashed", f"an exception other than a refusal on {text[:300]!r}:\n{detail}"


# --- the parser -----------------------------------------------------------------------------------

TOKENS = [
    "x",
    "y",
    "w1",
    "b",
    "e",
    "pi",
    CANARY,
    "f",
    "_",
    "α",
    "σ",
    " ",
    " ",
    "\n",
    ";",
    "=",
    "+",
    "-",
    "*",
    "/",
    "**",
    "^",
    "−",
    "×",
    "·",
    "(",
    ")",
    "(",
    ")",
    ",",
    "#",
    "0",
    "1",
    "2",
    "0.5",
    "1e3",
    "1e-3",
    "1000",
    "1001",
    "1e308",
    "1e309",
    "9" * 60,
    "1_000",
    "0x1f",
    "1j",
    ".",
    "'",
    '"',
    "[",
    "]",
    ":",
    "{",
    "}",
    "@",
    "%",
    "//",
    "<",
    "==",
    "not",
    "and",
    "lambda",
    "import",
    "__import__",
    "__class__",
    "sin",
    "cos",
    "exp",
    "log",
    "sqrt",
    "relu",
    "sigmoid",
    "tanh",
    "softplus",
    "abs",
    "max",
    "min",
    "step",
    "sign",
    "\t",
    "\x00",
    "\ufeff",
    "\u202e",
    "\udcff",
    "١",
]

program_texts = st.one_of(
    st.text(max_size=120),
    st.lists(st.sampled_from(TOKENS), max_size=40).map("".join),
    st.lists(st.sampled_from(TOKENS), max_size=12).map(lambda ts: "y = " + "".join(ts)),
)


def _parse(text):
    from backproof.parse import parse_program

    parse_program(text)


def _parse_values(text):
    from backproof.parse import parse_values

    parse_values(text)


@budget(300)
@given(program_texts)
def test_parser_returns_a_program_or_refuses(text):
    assert_refused_or_ok(bounded(_parse, text, refusals=(ParseError, LimitError)), text)


@budget(200)
@given(st.lists(st.sampled_from(TOKENS + ["=", ",", "x=", "y="]), max_size=20).map("".join))
def test_at_values_are_numbers_or_refused(text):
    assert_refused_or_ok(bounded(_parse_values, text, refusals=(ParseError, LimitError)), text)


# --- the spec loader ------------------------------------------------------------------------------

HOSTILE_NUMBERS = [
    0,
    1,
    -1,
    2,
    0.5,
    1e308,
    -0.0,
    10**12,
    2**63,
    "nan",
    ".inf",
    "1e-100",
    True,
    None,
    "x",
    [],
    {},
    [1, 2],
    [[1]],
    "9" * 40,
]
SMALL = st.one_of(st.integers(-2, 4), st.sampled_from(HOSTILE_NUMBERS))
layers = st.lists(
    st.fixed_dictionaries(
        {
            "units": SMALL,
            "activation": st.sampled_from(["identity", "relu", "sigmoid", "tanh", "softmax", "swish", 3]),
        },
        optional={
            "weights": st.sampled_from([[[0.1]], [[0.1, 0.2]], [[1], [2]], "x", [[None]], [[1e400]]]),
            "bias": SMALL,
            "initializer": st.sampled_from(["xavier", "he", "zero", 7]),
        },
    ),
    max_size=3,
)
spec_dicts = st.fixed_dictionaries(
    {"layers": layers, "loss": st.sampled_from(["mse", "sse", "half_sse", "bce", "ce", "hinge"])},
    optional={
        "inputs": st.sampled_from([[0.05, 0.1], [[1, 2], [3, 4]], [], "x", [1e400], [[1], [1, 2]]]),
        "targets": st.sampled_from([[0.01], [[0], [1]], [0.5, 0.5], [], "y"]),
        "learning_rate": SMALL,
        "steps": SMALL,
        "tolerance": SMALL,
        "seed": SMALL,
        "mode": st.sampled_from(["simultaneous", "sequential", "both"]),
        "name": st.text(max_size=8),
        "data": st.fixed_dictionaries(
            {"generator": st.sampled_from(["blobs", "xor", "moons"])},
            optional={"samples": SMALL, "classes": SMALL, "features": SMALL, "spread": SMALL},
        ),
        "names": st.dictionaries(
            st.sampled_from(["w1", "w2", "x", "1"]), st.sampled_from(["W1[0][0]", "W9[0][0]", "b1[0]", 3])
        ),
        "plot": st.fixed_dictionaries(
            {},
            optional={
                "weight": st.sampled_from(["w1", "W1[0][0]", "q"]),
                "surface": st.sampled_from([["w1", "w2"], "x"]),
            },
        ),
        "bogus": SMALL,
    },
)


def _mutate(text: str, cuts: list[tuple[int, str]]) -> str:
    for pos, ins in cuts:
        pos = pos % (len(text) + 1)
        text = text[:pos] + ins + text[pos + 1 :]
    return text


spec_texts = st.one_of(
    spec_dicts.map(lambda d: ("json", json.dumps(d))),
    spec_dicts.map(lambda d: ("yaml", json.dumps(d, indent=1))),
    st.tuples(
        spec_dicts.map(json.dumps),
        st.lists(
            st.tuples(st.integers(0, 10**4), st.sampled_from(TOKENS + ["&a", "*a", "!!", "- "])), max_size=4
        ),
    ).map(lambda t: ("yaml", _mutate(*t))),
    st.tuples(st.sampled_from(["yaml", "json", "toml"]), st.text(max_size=200)),
    st.sampled_from(["yaml", "toml"]).flatmap(
        lambda f: st.lists(
            st.sampled_from(
                [
                    "a = 1\n",
                    "[layers]\n",
                    "[[layers]]\n",
                    "units = 2\n",
                    'activation = "relu"\n',
                    'loss = "mse"\n',
                    "inputs = [1, 2]\n",
                    "targets = [1]\n",
                    "x: [\n",
                    "{",
                    "]",
                    "- ",
                    "'",
                    "\n",
                ]
            ),
            max_size=12,
        ).map(lambda parts: (f, "".join(parts)))
    ),
)


def _load_spec(fmt, text):
    from backproof.nn.spec import parse_spec_text, validate_spec

    # A spec reaches the loader decoded as strict UTF-8 (a file or standard input), so it
    # never holds a lone surrogate; the argv-borne parser is fuzzed with them instead.
    text = text.encode("utf-8", "replace").decode("utf-8")
    data = parse_spec_text(text, fmt, "fuzz")
    if not isinstance(data, dict):
        raise SpecError("not a mapping")  # the loader's own callers refuse this; not a crash
    validate_spec(data, "fuzz")


@budget(200)
@given(spec_texts)
def test_spec_loader_returns_a_spec_or_refuses(fmt_text):
    fmt, text = fmt_text
    assert_refused_or_ok(bounded(_load_spec, fmt, text, refusals=(SpecError, LimitError)), text)


def test_spec_loader_property_can_fail():
    """The property is not vacuous: a valid spec loads, and a broken one is refused."""
    assert bounded(_load_spec, "yaml", spec_yaml()) == ("ok", "")
    assert bounded(_load_spec, "yaml", "layers: [")[0] == "refused"


# --- the answer loader ----------------------------------------------------------------------------

ANSWER_VALUES = [
    "4",
    "2",
    "0.62",
    "2/3",
    "-6.2e-1",
    "nan",
    ".inf",
    f"{CANARY} + 1",
    f"{CANARY}**2",
    "1e-5",
    "'2 +* 3'",
    "[1, 2]",
    "{a: 1}",
    "",
    "~",
    "true",
    "w*2",
    "exp(1)",
    "9" * 30,
    "'x' * 3",
]
ANSWER_KEYS = [
    "J",
    f"{CANARY}1",
    f"dJ/d{CANARY}",
    "dJ/dw",
    "dJ_dw",
    "w_new",
    "w'",
    "b+",
    "∂J/∂b",
    "q",
    "dJ/d",
    "d/dw",
    "W1[0][0]",
    "J ",
    "tolerance",
]
answer_texts = st.one_of(
    st.lists(st.tuples(st.sampled_from(ANSWER_KEYS), st.sampled_from(ANSWER_VALUES)), max_size=6).map(
        lambda kv: PROBLEM + "answers:\n" + "".join(f"  {json.dumps(k)}: {v}\n" for k, v in kv)
    ),
    st.tuples(
        st.just(KEY),
        st.lists(st.tuples(st.integers(0, 400), st.sampled_from(TOKENS + ["&a", "*a", ": "])), max_size=4),
    ).map(lambda t: _mutate(*t)),
    st.text(max_size=200),
)


def _load_answers(text, suffix):
    from backproof.check.answers import load_check

    with tempfile.TemporaryDirectory() as d:
        p = Path(d, "hw" + suffix)
        p.write_text(text, encoding="utf-8", errors="surrogatepass")
        load_check(p)


@budget(150)
@given(answer_texts, st.sampled_from([".yaml", ".json", ".toml"]))
def test_answer_loader_returns_answers_or_refuses(text, suffix):
    assert_refused_or_ok(bounded(_load_answers, text, suffix), text)


def test_answer_loader_property_can_fail():
    """The property is not vacuous: a good answer file loads, a bad one is refused."""
    assert bounded(_load_answers, KEY, ".yaml") == ("ok", "")
    assert bounded(_load_answers, "answers: [", ".yaml")[0] == "refused"


# --- main([...]) on random argv -------------------------------------------------------------------

HOSTILE_VALUES = [
    "",
    "-",
    "--",
    "@",
    "@/dev/null",
    "nan",
    "inf",
    "-1",
    "0",
    "1e400",
    "10000000",
    "1e-300",
    f"{CANARY}",
    f"{CANARY}=1",
    "x=1,x=2",
    "=",
    ",",
    "out",
    "out/x.md",
    "out/x.json",
    "n" * 300,
    "∂",
    "\udcff",
    "a" * 3000,
]
PROGRAMS = [
    f"y = {CANARY}*2",
    f"d = a + {CANARY}; y = d*d",
    f"y = log({CANARY})",
    f"y = {CANARY}/0",
    f"y = sin({CANARY})**3",
    "y = ",
    "import os",
    f"y = {CANARY}**1001",
    "@prog.txt",
    "-",
]
OPTION_VALUES = {
    "--at": [f"{CANARY}=1", f"{CANARY}=0", f"{CANARY}=-2,a=1", f"{CANARY}=pi/2", "a=1"],
    "--of": ["y", "d", CANARY],
    "--wrt": [CANARY, "a,d", ","],
    "--format": ["text", "md", "json", "html", "csv"],
    "--points": ["1", "3", "0", "-1"],
    "-o": ["out/x.md", "out/x.json", "out/x.txt", "out/g.svg", "out/g.dot", "out/grades.csv", "out"],
    "--max-nodes": ["0", "5", "-1"],
    "--view": ["forward", "backward", "symbolic", "matrix", "scalar"],
    "--steps": ["0", "2", "-1"],
    "--digits": ["3", "0", "31"],
    "--timeout": ["5", "0", "nan", "inf"],
    "--jobs": ["1", "0"],
    "--carried-credit": ["0.5", "2", "nan"],
    "--rtol": ["1e-3", "nan", "-1"],
    "--seed": ["0", "7", "-1"],
    "--mode": ["sequential", "both"],
    "--learning-rate": ["0.1", "0", "nan"],
    "--highlight": [CANARY, "nope"],
    "--rankdir": ["TB", "XX"],
    "--tolerance": ["0", "-1"],
}
COMMANDS = {
    "explain": (PROGRAMS, ["--at", "--of", "--wrt", "--format", "--points", "-o"]),
    "graph": (PROGRAMS, ["--at", "--of", "--view", "--max-nodes", "--highlight", "--rankdir", "-o"]),
    "crosscheck": (
        PROGRAMS + ["@net.yaml"],
        ["--at", "--of", "--wrt", "--points", "--seed", "--rtol", "--format"],
    ),
    "net": (
        ["net.yaml", "net.json", "-", "prog.txt", "missing.yaml"],
        ["--steps", "--digits", "--view", "--mode", "--learning-rate", "--tolerance", "--format", "-o"],
    ),
    "check": (
        ["hw.yaml", "key.yaml", "net.yaml", "missing.yaml", "subs"],
        ["--format", "--carried-credit", "-o"],
    ),
    "grade": (["key.yaml", "hw.yaml"], ["--timeout", "--jobs", "--carried-credit", "-o"]),
}


@st.composite
def argvs(draw):
    cmd = draw(st.sampled_from(sorted(COMMANDS)))
    positionals, options = COMMANDS[cmd]
    argv = [cmd, draw(st.sampled_from(positionals + HOSTILE_VALUES))]
    if cmd == "grade":
        argv.append(draw(st.sampled_from(["subs", "out", "key.yaml"] + HOSTILE_VALUES)))
    for opt in draw(st.lists(st.sampled_from(options), max_size=3, unique=True)):
        argv += [opt, draw(st.sampled_from(OPTION_VALUES[opt] + HOSTILE_VALUES))]
    return argv


FILES = {
    "prog.txt": f"d = a + {CANARY}\ny = d*d\n",
    "net.yaml": spec_yaml(),
    "net.json": spec_yaml(),
    "hw.yaml": PROBLEM + "answers:\n  J: 4\n",
    "key.yaml": KEY,
    "subs/ada.yaml": SUBMISSION,
}


@budget(80)
@given(argvs(), st.sampled_from(["", f"y = {CANARY}*3\n", spec_yaml(), "\udcff"]))
def test_main_on_random_argv_exits_0_1_or_2(argv, stdin):
    with tempfile.TemporaryDirectory() as d:
        c = Case(
            "fuzz",
            "cli",
            tuple(argv),
            files=FILES,
            stdin=stdin.encode("utf-8", "surrogateescape"),
            exit=(0, 1, 2),
        )
        r = run_case(c, Path(d))
        check_case(c, r, max_error_lines=20)
