"""Write the homework examples: a correct sheet, one sheet per mistake kind, and a small class.

Every number is computed here by plain backpropagation written out by hand, with the
slip inserted where a student makes it, and then rounded to four significant figures
as a student with a calculator writes it. Rerun after changing anything:

    python examples/homework/generate.py
"""

from __future__ import annotations

import json
import math
from pathlib import Path

HERE = Path(__file__).resolve().parent

TWO_LAYER = """z1 = w1*x + b1
a1 = sigmoid(z1)
z2 = w2*a1 + b2
a2 = sigmoid(z2)
J = 0.5*(a2 - y)**2"""
AT = {"x": 0.5, "y": 1, "w1": 0.3, "b1": -0.1, "w2": 0.8, "b2": 0.2}
LR = 0.5

FORK = """h = w1*x
p = w2*h
q = w3*h
J = 0.5*(p + q - y)**2"""
FORK_AT = {"x": 1.5, "y": 0.5, "w1": 0.4, "w2": -0.7, "w3": 1.3}

WHAT = {
    None: "every step right",
    "update_sign": "w2 updated uphill: w2 + η·∂J/∂w2",
    "learning_rate_missing": "w2 updated without the learning rate",
    "learning_rate_twice": "w2 updated with η applied twice",
    "activation_derivative_missing": "σ′(z2) left out of ∂J/∂z2",
    "activation_instead_of_derivative": "σ(z2) used instead of σ′(z2)",
    "derivative_at_output": "σ′ taken at a2 instead of z2",
    "loss_half_factor": "∂J/∂a2 = 2(a2 − y) although J has the ½",
    "operands_swapped": "∂J/∂a2 = y − a2",
    "updated_weight_used": "the new w2 used to backpropagate into layer 1",
    "wrong_value": "w1 copied where w2 belongs in ∂J/∂a1",
    "fork_path_missing": "only the path through p added into ∂J/∂h",
}


def sig(z):
    return 1 / (1 + math.exp(-z))


def two_layer(mistake=None):
    x, y, w1, b1, w2, b2 = (AT[k] for k in ("x", "y", "w1", "b1", "w2", "b2"))
    out = {}
    out["z1"] = z1 = w1 * x + b1
    out["a1"] = a1 = sig(z1)
    out["z2"] = z2 = w2 * a1 + b2
    out["a2"] = a2 = sig(z2)
    out["J"] = 0.5 * (a2 - y) ** 2
    g = {"loss_half_factor": 2 * (a2 - y), "operands_swapped": y - a2}.get(mistake, a2 - y)
    out["dJ/da2"] = g
    d2 = {"activation_derivative_missing": 1.0, "activation_instead_of_derivative": a2,
          "derivative_at_output": sig(a2) * (1 - sig(a2))}.get(mistake, a2 * (1 - a2))
    out["dJ/dz2"] = gz2 = g * d2
    out["dJ/dw2"] = gw2 = gz2 * a1
    out["dJ/db2"] = gz2
    out["w2_new"] = w2_new = {"update_sign": w2 + LR * gw2, "learning_rate_missing": w2 - gw2,
                              "learning_rate_twice": w2 - LR * LR * gw2}.get(mistake, w2 - LR * gw2)
    out["b2_new"] = b2 - LR * gz2
    w2_used = {"updated_weight_used": w2_new, "wrong_value": w1}.get(mistake, w2)
    out["dJ/da1"] = ga1 = gz2 * w2_used
    out["dJ/dz1"] = gz1 = ga1 * a1 * (1 - a1)
    out["dJ/dw1"] = gw1 = gz1 * x
    out["dJ/db1"] = gz1
    out["w1_new"] = w1 - LR * gw1
    out["b1_new"] = b1 - LR * gz1
    return out


def fork(mistake=None):
    x, y, w1, w2, w3 = (FORK_AT[k] for k in ("x", "y", "w1", "w2", "w3"))
    out = {}
    out["h"] = h = w1 * x
    out["p"] = p = w2 * h
    out["q"] = q = w3 * h
    out["J"] = 0.5 * (p + q - y) ** 2
    out["dJ/dp"] = gp = p + q - y
    out["dJ/dq"] = gq = p + q - y
    out["dJ/dh"] = gh = gp * w2 + (0 if mistake == "fork_path_missing" else gq * w3)
    out["dJ/dw1"] = gw1 = gh * x
    out["w1_new"] = w1 - LR * gw1
    return out


def fig(v: float) -> str:
    return f"{v:.4g}"


def sheet(program, at, answers, *, comment, student=None, problem=True) -> str:
    lines = [f"# {comment}"]
    if student:
        lines.append(f"student: {json.dumps(student)}")
    if problem:
        lines += ["problem:", "  program: |"] + [f"    {line}" for line in program.splitlines()]
        lines.append("  at: {" + ", ".join(f"{k}: {v:g}" for k, v in at.items()) + "}")
        lines.append(f"  learning_rate: {LR:g}")
    lines.append("answers:")
    lines += [f"  {json.dumps(k) if '/' in k else k}: {fig(v)}" for k, v in answers.items()]
    return "\n".join(lines) + "\n"


def seed_sheet() -> str:
    """The seeds' worked two-layer example, with the numbers the notes wrote (recomputed here)."""
    at = {"x": 1, "y": 5, "w1": 2, "b1": 0, "w2": 3, "b2": 1}
    a1 = at["w1"] * at["x"] + at["b1"]
    a2 = at["w2"] * a1 + at["b2"]
    g_a2 = a2 - at["y"]
    slip = g_a2 * 1 * 2            # the notes: ∂J/∂a1 = 2 × 1 × w2 = 2 × 2, with w2 = 3
    right = g_a2 * at["w2"]        # ... yet they update layer 1 with the right gradient, 6
    answers = {"a1": a1, "a2": a2, "J": 0.5 * g_a2 ** 2, "dJ/da2": g_a2, "dJ/db2": g_a2, "dJ/dw2": g_a2 * a1,
               "dJ/da1": slip, "dJ/db1": slip, "dJ/dw1": slip * at["x"],
               "w2_new": at["w2"] - 0.1 * g_a2 * a1, "b2_new": at["b2"] - 0.1 * g_a2,
               "w1_new": at["w1"] - 0.1 * right, "b1_new": at["b1"] - 0.1 * right}
    lines = ["# The seeds' worked two-layer example as the notes wrote it (backproof finds the slip)",
             "problem:", "  program: |", "    a1 = w1*x + b1", "    a2 = w2*a1 + b2", "    J = 0.5*(a2 - y)**2",
             "  at: {" + ", ".join(f"{k}: {v}" for k, v in at.items()) + "}", "  learning_rate: 0.1", "answers:"]
    lines += [f"  {json.dumps(k) if '/' in k else k}: {v:g}" for k, v in answers.items()]
    return "\n".join(lines) + "\n"


SYMBOLIC = """# Symbolic answers: any equal form is accepted; an unequal one gets a counterexample
problem:
  program: |
    d = a + b
    e = b - c
    y = d*e
answers:
  dy/dd: e
  dy/db: a + 2*b - c
  ∂y/∂c: -(a + b)
  dy/da: b + c
"""


def main() -> None:
    files = {"correct.yaml": sheet(TWO_LAYER, AT, two_layer(), comment=WHAT[None]),
             "seed.yaml": seed_sheet(), "symbolic.yaml": SYMBOLIC}
    for kind in WHAT:
        if kind is None:
            continue
        prog, at, fn = (FORK, FORK_AT, fork) if kind == "fork_path_missing" else (TWO_LAYER, AT, two_layer)
        files[f"mistake-{kind.replace('_', '-')}.yaml"] = sheet(prog, at, fn(kind), comment=f"mistake: {WHAT[kind]}")
    for name, text in files.items():
        (HERE / name).write_text(text, encoding="utf-8")
    # A small class: the key asks for a few quantities of the two-layer problem.
    asked = ["a2", "J", "dJ/dz2", "dJ/dw2", "dJ/da1", "dJ/dw1", "w2_new", "w1_new"]
    klass = HERE / "class"
    (klass / "submissions").mkdir(parents=True, exist_ok=True)
    right = two_layer()
    (klass / "key.yaml").write_text(sheet(TWO_LAYER, AT, {k: right[k] for k in asked},
                                          comment="the key: the problem and its answers (checked before use)"),
                                    encoding="utf-8")
    students = {"ada": ("Ada Lovelace", None), "ben": ("Ben", "activation_derivative_missing"),
                "cho": ("Cho", "update_sign"), "dev": ("Dev", "wrong_value"),
                "eli": ("Eli", "activation_derivative_missing")}
    for stem, (student, kind) in students.items():
        vals = two_layer(kind)
        (klass / "submissions" / f"{stem}.yaml").write_text(
            sheet("", {}, {k: vals[k] for k in asked}, comment=WHAT[kind], student=student, problem=False),
            encoding="utf-8")
    # Fay skipped the updates; Gus's file is not valid YAML.
    vals = two_layer()
    (klass / "submissions" / "fay.yaml").write_text(
        sheet("", {}, {k: vals[k] for k in asked if not k.endswith("_new")}, comment="no updates",
              student="Fay", problem=False), encoding="utf-8")
    (klass / "submissions" / "gus.yaml").write_text("student: Gus\nanswers: {a2: 0.6, J: [\n", encoding="utf-8")


if __name__ == "__main__":
    main()
