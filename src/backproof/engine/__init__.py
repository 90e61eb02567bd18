"""NumPy engine: values and gradients computed independently of SymPy.

Nothing under ``backproof.engine`` imports SymPy, so its numbers are a genuine second
opinion on the symbolic derivations.
"""

from backproof.engine.constraints import Constraint, constrain
from backproof.engine.errors import EngineError, NumericalError
from backproof.engine.graph_engine import EngineGradients, backward, forward, grad
from backproof.engine.layers import (
    ACTIVATIONS,
    INITIALIZERS,
    Activation,
    Dense,
    get_activation,
    identity,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from backproof.engine.losses import LOSSES, Loss, get_loss, logsumexp, softplus
from backproof.engine.network import (
    MODES,
    Cache,
    TrainResult,
    back_propagation,
    forward_prop,
    gd_step,
    gradient_norm,
    loss_value,
    sequential_gradients,
    train,
)

__all__ = [
    "Constraint",
    "constrain",
    "EngineError",
    "NumericalError",
    "ACTIVATIONS",
    "INITIALIZERS",
    "Activation",
    "Dense",
    "get_activation",
    "identity",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
    "LOSSES",
    "Loss",
    "get_loss",
    "logsumexp",
    "softplus",
    "MODES",
    "Cache",
    "TrainResult",
    "back_propagation",
    "forward_prop",
    "gd_step",
    "gradient_norm",
    "loss_value",
    "sequential_gradients",
    "train",
    "grad",
    "forward",
    "backward",
    "EngineGradients",
]
