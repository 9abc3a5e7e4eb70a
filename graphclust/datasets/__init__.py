"""Datasets: a registry of benchmark graphs, one reader per file format, embedded defaults."""

from ._files import MissingDataError, data_root
from .generic import FileFormatError, load_edge_list_graph, load_feature_graph
from .graphfiles import load_graph_file
from .planetoid import SafeUnpickler
from .registry import REGISTRY, DatasetSpec, dataset_info, list_datasets, load_dataset, register
from .synthetic import load_digits_graph, make_csbm

__all__ = [
    "REGISTRY",
    "DatasetSpec",
    "FileFormatError",
    "MissingDataError",
    "SafeUnpickler",
    "data_root",
    "dataset_info",
    "list_datasets",
    "load_dataset",
    "load_digits_graph",
    "load_edge_list_graph",
    "load_feature_graph",
    "load_graph_file",
    "make_csbm",
    "register",
]
