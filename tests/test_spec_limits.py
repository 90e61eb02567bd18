"""Limits checked before work for network specs and answer files (issue 9, item 3).

Each finding is refused with one line naming the field path (or line and column) and
the limit's name and value, before any weight, array, program or SymPy number is built.
The "before" is asserted by making the builders raise if they are reached.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backproof import limits
from backproof.check.answers import AnswerFileError, load_check, parse_document
from backproof.cli import main
from backproof.errors import BackproofError, LimitError
from backproof.nn import program_from_spec, train_network
from backproof.nn.spec import parse_spec_text, shape_estimates, validate_spec

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _limit_of(exc: BaseException) -> str:
    assert isinstance(exc, LimitError), exc
    return exc.limit


@pytest.fixture
def nothing_built(monkeypatch):
    """Fail the test if a weight is initialised, a dataset generated or a program built."""
    def boom(*a, **k):
        raise AssertionError("work started before the limit check")
    monkeypatch.setattr("backproof.nn.spec._initial_weights", boom)
    monkeypatch.setattr("backproof.nn.spec.generate_data", boom)
    monkeypatch.setattr("backproof.nn.build.build_program", boom)


def _net(*units, inputs=2, activation="sigmoid", **extra):
    spec = {"inputs": [0.5] * inputs, "targets": [1] + [0] * (units[-1] - 1), "loss": "half_sse",
            "learning_rate": 0.5, "layers": [{"units": u, "activation": activation} for u in units]}
    spec.update(extra)
    return spec


def _cli(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# --- network shapes -----------------------------------------------------------------------

@pytest.mark.parametrize("units", [2000, 100_000, 1_000_000_000_000])
def test_finding_units_refused_from_the_shapes(units, nothing_built):
    with pytest.raises(LimitError) as info:
        validate_spec(_net(units, 2), "n.yaml")
    msg = str(info.value)
    assert info.value.limit == "net_units"
    assert msg.startswith("n.yaml: layers[0].units: ") and f"net_units = {limits.value('net_units')}" in msg


def test_finding_units_too_large_is_one_line_at_the_cli(tmp_path, capsys):
    spec = tmp_path / "n.yaml"
    spec.write_text("inputs: [0.05, 0.1]\ntargets: [0.01, 0.99]\nloss: half_sse\nlayers:\n"
                    "  - {units: 1000000000000, activation: sigmoid}\n  - {units: 2, activation: sigmoid}\n")
    code, out, err = _cli(["net", str(spec)], capsys)
    line = _one_line(err)
    assert code == 2 and out == ""
    assert "layers[0].units" in line and "net_units = 1000" in line


def test_finding_features_3000000_refused(nothing_built):
    spec = {"data": {"generator": "blobs", "samples": 60, "classes": 2, "features": 3_000_000},
            "layers": [{"units": 1, "activation": "sigmoid"}], "loss": "bce"}
    with pytest.raises(LimitError, match=r"data\.features: 3000000 features is over the limit "
                                         r"net_features = 1000"):
        validate_spec(spec)


def test_finding_samples_refused_from_the_raw_rows(nothing_built):
    rows = [[0.0]] * (limits.value("net_samples") + 1)
    with pytest.raises(LimitError) as info:
        validate_spec({"inputs": rows, "targets": [[0]] * len(rows), "loss": "mse",
                       "layers": [{"units": 1, "activation": "identity"}]})
    assert info.value.limit == "net_samples" and str(info.value).startswith("inputs: ")


def test_finding_64_256_256_10_refused_from_the_shapes(nothing_built):
    """Before: 5.5 s of initialising and building before "too large"; now no weight is made."""
    spec = _net(256, 256, 10, inputs=64, activation="relu")
    spec["layers"][-1]["activation"] = "softmax"
    spec["loss"] = "ce"
    with pytest.raises(LimitError) as info:
        validate_spec(spec)
    assert info.value.limit == "net_parameters"
    assert str(info.value).startswith("layers[0].units: 16640 parameters is over the limit net_parameters")


def test_finding_graph_nodes_refused_from_the_shapes(nothing_built):
    # Few parameters, many samples: the graph (parameters × samples) is what is too large.
    spec = {"data": {"generator": "blobs", "samples": 1000, "classes": 3, "features": 2},
            "layers": [{"units": 4, "activation": "tanh"}, {"units": 3, "activation": "softmax"}],
            "loss": "ce"}
    with pytest.raises(LimitError) as info:
        validate_spec(spec)
    assert info.value.limit == "net_graph_nodes" and "27 parameters × 1000 samples" in str(info.value)


@pytest.mark.parametrize("name", ["mazur", "softmax_blobs", "sigmoid_bce", "three_input", "linear_chain",
                                  "wx_plus_b"])
def test_shape_estimates_match_the_built_network(name):
    """The shapes-only estimate is the one explain_network uses on the built spec."""
    from backproof.nn.explain import estimate_nodes
    from backproof.nn.spec import load_spec_file
    spec = validate_spec(load_spec_file(EXAMPLES / f"{name}.yaml"), name)
    heads = [(layer.units, layer.activation) for layer in spec.layers]
    shared = [layer.shared_bias for layer in spec.layers]  # Mazur's layers share one bias each
    params, nodes = shape_estimates(len(spec.inputs[0]), heads, spec.n_samples, shared)
    assert (params, nodes) == (spec.n_params, estimate_nodes(spec))


def test_finding_16_64_64_10_is_still_accepted():
    """The largest network of the benchmark the docs promise stays inside every limit."""
    spec = _net(64, 64, 10, inputs=16, activation="relu", initializer="he")
    spec["layers"][-1]["activation"] = "softmax"
    spec["loss"] = "ce"
    checked = validate_spec(spec)
    params, nodes = shape_estimates(16, [(64, "relu"), (64, "relu"), (10, "softmax")], 1)
    assert checked.n_params == params == 5898 and nodes == 12306
    assert nodes <= limits.value("net_graph_nodes") and params <= limits.value("net_parameters")


# --- training steps -----------------------------------------------------------------------

def test_finding_steps_1e9_in_the_spec_refused(nothing_built):
    with pytest.raises(LimitError, match=r"^steps: 1000000000 steps is over the limit net_steps = 20000"):
        validate_spec(_net(2, 2, steps=1_000_000_000))


def test_finding_steps_times_parameters_refused(nothing_built):
    # 20,000 steps are allowed for a small network; for 5,898 parameters and 20 samples they
    # are 2.4e9 parameter-steps, over net_training_work (the write-up derives one sample, so
    # the graph is small: training work counts every sample).
    spec = _net(64, 64, 10, inputs=16, activation="relu", steps=20_000, explain_samples=1)
    spec["inputs"], spec["targets"] = [[0.5] * 16] * 20, [[1] + [0] * 9] * 20
    with pytest.raises(LimitError) as info:
        validate_spec(spec)
    assert info.value.limit == "net_training_work" and str(info.value).startswith("steps: ")


def test_finding_steps_argument_refused_before_the_first_step(monkeypatch):
    net = program_from_spec(_net(2, 2))

    def boom(*a, **k):
        raise AssertionError("a training step was taken")
    monkeypatch.setattr("backproof.engine.forward_prop", boom)
    with pytest.raises(LimitError) as info:
        train_network(net, steps=1_000_000_000)
    assert info.value.limit == "net_steps"


def test_finding_steps_option_refused_before_the_derivation(capsys, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("derived before checking --steps")
    monkeypatch.setattr("backproof.nn.explain.explain_network", boom)
    code, out, err = _cli(["net", str(EXAMPLES / "mazur.yaml"), "--steps", "1000000000"], capsys)
    assert code == 2 and out == ""
    assert _one_line(err) == ("backproof: error: --steps: 1000000000 steps is over the limit net_steps = "
                              "20000 steps (training steps of a network: the spec's steps or --steps)")


# --- numbers ------------------------------------------------------------------------------

BIG = "7" * 5000


@pytest.mark.parametrize("fmt,text", [
    ("yaml", "inputs: [1]\ntargets: [2]\nloss: sse\nlayers: [{units: 1, activation: identity, "
             f"weights: [[{BIG}]]}}]\n"),
    ("json", '{"inputs": [1], "targets": [2], "loss": "sse", "layers": [{"units": 1, '
             f'"activation": "identity", "weights": [[{BIG}]]}}]}}'),
    ("toml", f'inputs = [1]\ntargets = [2]\nloss = "sse"\n[[layers]]\nunits = 1\nactivation = "identity"\n'
             f"weights = [[{BIG[:150]}]]\n"),
], ids=["yaml", "json", "toml"])
def test_finding_5000_digit_integers_in_a_spec(fmt, text, nothing_built):
    with pytest.raises(LimitError) as info:
        validate_spec(parse_spec_text(text, fmt, "n"), "n")
    assert info.value.limit == "file_number_digits"
    assert str(info.value).startswith("n: layers[0].weights[0][0]: ")


def test_finding_5000_digit_integer_in_toml_is_refused_by_line():
    """tomllib converts integers itself (no hook), so the line is named instead of the path."""
    text = f'inputs = [1]\ntargets = [2]\nloss = "sse"\nseed = {BIG}\n'
    with pytest.raises(LimitError, match=r"^n\.toml: line 4: 5000 digits is over the limit "
                                         r"file_number_digits"):
        parse_spec_text(text, "toml", "n.toml")


@pytest.mark.parametrize("field,value", [("seed", BIG), ("learning_rate", "1e999999"),
                                         ("learning_rate", "1" * 400 + ".5")])
def test_finding_huge_numbers_in_a_spec_are_one_line(field, value, tmp_path, capsys):
    spec = tmp_path / "n.yaml"
    spec.write_text(f"inputs: [1]\ntargets: [2]\nloss: sse\n{field}: {value}\n"
                    f"layers: [{{units: 1, activation: identity}}]\n")
    code, _, err = _cli(["net", str(spec)], capsys)
    line = _one_line(err)
    assert code == 2 and f"{field}:" in line and len(line) < 300


# --- nesting and aliases ------------------------------------------------------------------

DEPTH = 5000


@pytest.mark.parametrize("fmt,text", [
    ("yaml", "loss: sse\nlayers: " + "[" * DEPTH + "]" * DEPTH),
    ("json", '{"loss": "sse", "layers": ' + "[" * DEPTH + "]" * DEPTH + "}"),
    ("toml", 'loss = "sse"\nlayers = ' + "[" * DEPTH + "]" * DEPTH),
    ("toml", ".".join(["k"] * 50_000) + " = 1"),
], ids=["yaml", "json", "toml", "toml-dotted-keys"])
def test_finding_deeply_nested_spec(fmt, text):
    with pytest.raises(LimitError) as info:
        parse_spec_text(text, fmt, "n")
    assert info.value.limit == "file_nesting_depth"
    assert "file_nesting_depth = 40 levels" in str(info.value) and str(info.value).startswith("n: line ")


@pytest.mark.parametrize("fmt,text", [
    ("yaml", "answers:\n  J: " + "[" * DEPTH + "]" * DEPTH),
    ("json", '{"answers": {"J": ' + "[" * DEPTH + "]" * DEPTH + "}}"),
    ("toml", "[answers]\nJ = " + "[" * DEPTH + "]" * DEPTH),
], ids=["yaml", "json", "toml"])
def test_finding_deeply_nested_answer_file(fmt, text):
    with pytest.raises(LimitError) as info:
        parse_document(text, f"a.{fmt}")
    assert info.value.limit == "file_nesting_depth"


def test_nesting_inside_strings_is_not_counted():
    deep = "[" * 100
    assert parse_spec_text(json.dumps({"name": deep}), "json") == {"name": deep}
    assert parse_spec_text(f'name = "{deep}"  # {deep}\n', "toml") == {"name": deep}
    assert parse_spec_text(f"name: '{deep}'\n", "yaml") == {"name": deep}


# "Billion laughs": nine aliases of nine aliases of … nine scalars (9**9 values expanded).
LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [" + ", ".join([f"*{p}"] * 9) + "]\n" for p, c in zip("abcdefgh", "bcdefghi"))


def test_finding_yaml_billion_laughs_in_a_spec():
    text = LAUGHS + "loss: sse\nlayers: *i\n"
    with pytest.raises(LimitError) as info:
        parse_spec_text(text, "yaml", "n")
    assert info.value.limit == "file_values"


def test_small_yaml_aliases_still_work():
    text = "inputs: &v [1, 2]\ntargets: [0]\nloss: mse\n" \
           "layers: [{units: 1, activation: identity, weights: [*v]}]\n"
    assert validate_spec(parse_spec_text(text, "yaml")).layers[0].weights == ((1, 2),)


# --- answer files -------------------------------------------------------------------------

PROBLEM = "problem:\n  program: |\n    a = w*x\n    J = a**2\n  at: {w: 2, x: 3}\n"


def _check_file(tmp_path, body: str, name: str = "hw.yaml") -> Path:
    p = tmp_path / name
    p.write_text(PROBLEM + body)
    return p


def test_finding_answer_key_name_is_bounded_before_matching(tmp_path, monkeypatch):
    """A 3 KB key took 13 s in the name matcher; it is refused before the matcher runs."""
    from backproof.check.quantities import Problem

    def boom(self, text):
        raise AssertionError("an over-long key reached the name matcher")
    monkeypatch.setattr(Problem, "resolve", boom)
    key = "d" + "_d" * 500 + " " * 2000 + "y"
    p = tmp_path / "hw.json"
    p.write_text(json.dumps({"problem": {"program": "a = w*x; J = a**2", "at": {"w": 2, "x": 3}},
                             "answers": {key: 1}}))
    with pytest.raises(LimitError) as info:
        load_check(p)
    msg = str(info.value)
    assert info.value.limit == "answer_key_chars" and "answer_key_chars = 80 characters" in msg
    assert len(msg) < 300  # the key is quoted, not echoed


def test_finding_answer_count_is_bounded(tmp_path):
    n = limits.value("answer_count") + 1
    body = "answers:\n" + "".join(f"  k{i}: 1\n" for i in range(n))
    with pytest.raises(LimitError) as info:
        load_check(_check_file(tmp_path, body))
    assert info.value.limit == "answer_count" and f"{n} answers" in str(info.value)


def test_finding_answer_size_is_bounded(tmp_path):
    p = _check_file(tmp_path, "answers:\n  J: " + "1+" * 1500 + "1\n")
    with pytest.raises(AnswerFileError) as info:
        load_check(p)
    msg = info.value.problems[0]
    assert "answers.J: 3001 characters is over the limit answer_chars = 2000" in msg and len(msg) < 300


@pytest.mark.parametrize("value,limit", [(BIG[:150], "file_number_digits"),
                                         ("1e999999", "file_number_exponent"),
                                         ("1e-999999", "file_number_exponent"),
                                         ("1e" + "9" * 1500, "file_number_exponent")],
                         ids=["150-digits", "1e999999", "1e-999999", "1500-digit-exponent"])
def test_finding_huge_answers_are_refused_cleanly(value, limit, tmp_path):
    with pytest.raises(AnswerFileError) as info:
        load_check(_check_file(tmp_path, f"answers:\n  J: {value}\n"))
    msg = info.value.problems[0]
    assert "answers.J: " in msg and f"over the limit {limit} = " in msg and len(msg) < 300


def test_finding_5000_digit_integers_in_answer_files(tmp_path):
    # problem.at (YAML), an answer (JSON) and an answer (TOML, which converts integers itself)
    p = tmp_path / "a.yaml"
    p.write_text(f"problem:\n  program: 'J = w*x'\n  at: {{w: {BIG[:200]}, x: 1}}\nanswers:\n  J: 1\n")
    with pytest.raises(AnswerFileError, match=r"problem\.at\.w: value of 'w': 200 digits is over the limit "
                                             r"file_number_digits"):
        load_check(p)
    p = tmp_path / "a.json"
    p.write_text(json.dumps({"problem": {"program": "J = w*x", "at": {"w": 1, "x": 1}}})[:-1]
                 + f', "answers": {{"J": {BIG}}}}}')
    with pytest.raises(BackproofError, match="over the limit answer_chars|over the limit file_number_digits"):
        load_check(p)
    p = tmp_path / "a.toml"
    p.write_text(f'[problem]\nprogram = "J = w*x"\nat = {{w = 1, x = 1}}\n[answers]\nJ = {BIG}\n')
    with pytest.raises(LimitError, match=r"a\.toml: line 5: 5000 digits is over the limit "
                                         r"file_number_digits"):
        load_check(p)


def test_finding_5000_digit_integer_in_a_network_answer_file(tmp_path):
    p = tmp_path / "a.yaml"
    p.write_text("problem:\n  network:\n    inputs: [1]\n    targets: [2]\n    loss: sse\n"
                 f"    layers: [{{units: 1, activation: identity, weights: [[{BIG}]]}}]\nanswers:\n  J: 1\n")
    with pytest.raises(AnswerFileError, match=r"problem\.network: layers\[0\]\.weights\[0\]\[0\]: "
                                             r"5000 digits is over the limit file_number_digits"):
        load_check(p)


def test_finding_check_command_is_one_line_for_hostile_answer_files(tmp_path, capsys):
    for name, text in [("deep.json", '{"answers": ' + "[" * DEPTH + "]" * DEPTH + "}"),
                       ("big.toml", f"[answers]\nJ = {BIG}\n"),
                       ("laughs.yaml", LAUGHS)]:
        p = tmp_path / name
        p.write_text(text)
        code, out, err = _cli(["check", str(p)], capsys)
        line = _one_line(err)
        assert code == 2 and out == "" and "over the limit" in line, name


def test_finding_error_messages_quote_long_values(tmp_path):
    long_key = "k" * 10_000
    with pytest.raises(BackproofError) as info:
        validate_spec({long_key: 1, "loss": "sse", "layers": [{"units": 1, "activation": "relu"}]})
    assert len(str(info.value)) < 300 and "10000 characters" in str(info.value)
    p = _check_file(tmp_path, "answers:\n  J: '" + "x" * 1500 + "'\n")
    with pytest.raises(AnswerFileError) as info:
        load_check(p)
    assert all(len(line) < 400 for line in info.value.problems)


def test_finding_net_reads_standard_input_within_the_limit(monkeypatch, capsys):
    """``net -`` reads at most one character past input_bytes (an endless stream is refused)."""
    asked = []

    class Endless:
        def read(self, n=-1):
            asked.append(n)
            assert n >= 0, "read everything"
            return "#" * n
    monkeypatch.setattr("sys.stdin", Endless())
    code, _out, err = _cli(["net", "-"], capsys)
    assert code == 2 and asked == [limits.value("input_bytes") + 1]
    assert "standard input" in _one_line(err) and "input_bytes" in err
