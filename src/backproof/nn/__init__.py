"""Small neural networks: specs built as named-scalar programs, two views, training, plots.

>>> from backproof.nn import Network, Layer
>>> r = Network([Layer(1, "identity", weights=[[0]], bias=0)], loss="half_sse",
...             learning_rate=0.5).explain(inputs=[1], targets=[2])
>>> r.loss, r.updated()
(2, {'w1_0_0': 1, 'b1_0': 1})
"""

from .build import Layout, NetProgram, build_program, program_from_spec, program_from_spec_file
from .explain import EngineCheck, NetResult, explain_network
from .network import Layer, Network
from .run import NetOptions, NetRun, resolve_run, run_network
from .spec import NetSpec, load_spec_file, validate_spec
from .train import TrainHistory, train_network

__all__ = ["NetProgram", "NetSpec", "Layout", "NetResult", "EngineCheck", "TrainHistory",
           "Network", "Layer", "build_program", "program_from_spec", "program_from_spec_file",
           "load_spec_file", "validate_spec", "explain_network", "train_network",
           "NetOptions", "NetRun", "resolve_run", "run_network"]
