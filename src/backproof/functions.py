"""SymPy functions the expression language needs and SymPy lacks: sigmoid, relu, softplus.

Their ``fdiff`` lets SymPy differentiate them; the *independent* oracle in
:mod:`backproof.verify` never relies on that: it rewrites each one into elementary
functions first (``rewrite_elementary``) and differentiates those.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["sigmoid", "relu", "softplus", "rewrite_elementary"]


class sigmoid(sp.Function):  # noqa: N801 - SymPy functions are lower case
    """The logistic function σ(x) = 1 / (1 + e^(−x))."""

    @classmethod
    def eval(cls, x):  # safe: SymPy's evaluation hook for Function subclasses, not Python eval; x is a SymPy object
        if x.is_Number:
            return 1 / (1 + sp.exp(-x))
        return None

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sp.exp(-x))

    def _eval_evalf(self, prec):
        return (1 / (1 + sp.exp(-self.args[0])))._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_finite(self):
        if self.args[0].is_real:
            return True
        return None

    def _latex(self, printer):
        return r"\sigma\left(%s\right)" % printer._print(self.args[0])


class relu(sp.Function):  # noqa: N801
    """The rectifier max(0, x); its derivative at 0 is taken as 0 (PyTorch's convention)."""

    @classmethod
    def eval(cls, x):  # safe: SymPy's evaluation hook for Function subclasses, not Python eval; x is a SymPy object
        if x.is_Number:
            return sp.Max(0, x)
        return None

    def fdiff(self, argindex=1):
        return sp.Heaviside(self.args[0], 0)

    def _eval_rewrite_as_Max(self, x, **kwargs):
        return sp.Max(0, x)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer):
        return r"\operatorname{ReLU}\left(%s\right)" % printer._print(self.args[0])


class softplus(sp.Function):  # noqa: N801
    """softplus(x) = log(1 + e^x), a smooth ReLU."""

    @classmethod
    def eval(cls, x):  # safe: SymPy's evaluation hook for Function subclasses, not Python eval; x is a SymPy object
        if x.is_Number:
            return sp.log(1 + sp.exp(x))
        return None

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sp.log(1 + sp.exp(x))

    def _eval_evalf(self, prec):
        return sp.log(1 + sp.exp(self.args[0]))._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer):
        return r"\operatorname{softplus}\left(%s\right)" % printer._print(self.args[0])


def rewrite_elementary(expr: sp.Expr) -> sp.Expr:
    """Replace sigmoid, relu and softplus by their definitions in elementary functions.

    Examples
    --------
    >>> x = sp.Symbol("x", real=True)
    >>> rewrite_elementary(sigmoid(x) + relu(x))
    Max(0, x) + 1/(1 + exp(-x))
    """
    return expr.replace(sigmoid, lambda x: 1 / (1 + sp.exp(-x))) \
               .replace(softplus, lambda x: sp.log(1 + sp.exp(x))) \
               .replace(relu, lambda x: sp.Max(0, x))
