"""Clustering methods, one per file, and the registry the CLI reads."""

from graphclust.base import BaseGraphClusterer

from .agcn import AGCN
from .baselines import KMeansFeatures, SpectralGraph
from .dgi import DGI
from .gmim import GMIM
from .vade import VaDE

METHODS: dict[str, type[BaseGraphClusterer]] = {
    "gmim": GMIM,
    "dgi": DGI,
    "agcn": AGCN,
    "kmeans": KMeansFeatures,
    "spectral": SpectralGraph,
    "vade": VaDE,
}

__all__ = ["AGCN", "DGI", "GMIM", "METHODS", "KMeansFeatures", "SpectralGraph", "VaDE"]
