"""Clustering methods, one per file, and the registry the CLI reads."""

from graphclust.base import BaseGraphClusterer

from .ae_cluster import AutoencoderClusters
from .agcn import AGCN
from .baselines import KMeansFeatures, SpectralGraph
from .dgg import DGG
from .dgi import DGI
from .gcc import GCC, SimCLR
from .gmim import GMIM
from .vade import VaDE

METHODS: dict[str, type[BaseGraphClusterer]] = {
    "gmim": GMIM,
    "dgi": DGI,
    "agcn": AGCN,
    "kmeans": KMeansFeatures,
    "spectral": SpectralGraph,
    "vade": VaDE,
    "dgg": DGG,
    "ae": AutoencoderClusters,
    "gcc": GCC,
    "simclr": SimCLR,
}

__all__ = ["AGCN", "AutoencoderClusters", "DGG", "DGI", "GCC", "GMIM", "METHODS", "KMeansFeatures",
           "SimCLR", "SpectralGraph", "VaDE"]
