"""graphclust: deep clustering of attributed graphs."""

from .datasets import (
           list_datasets,
           load_dataset,
           load_edge_list_graph,
           load_feature_graph,
           load_graph_file,
           make_csbm,
)
from .graph import Graph
from .methods import AGCN, DGG, DGI, GCC, GMIM, SimCLR, VaDE
from .metrics import evaluate

__version__ = "0.1.0"

__all__ = ["AGCN", "DGG", "DGI", "GCC", "GMIM", "SimCLR", "VaDE", "Graph", "evaluate", "list_datasets", "load_dataset", "load_edge_list_graph",
           "load_feature_graph", "load_graph_file", "make_csbm"]
