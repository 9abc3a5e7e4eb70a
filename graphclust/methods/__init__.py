"""Clustering methods, one per file, and the registry the CLI reads."""

from graphclust.base import BaseGraphClusterer

from .baselines import KMeansFeatures
from .dgi import DGI
from .gmim import GMIM

METHODS: dict[str, type[BaseGraphClusterer]] = {
    "gmim": GMIM,
    "dgi": DGI,
    "kmeans": KMeansFeatures,
}

__all__ = ["DGI", "GMIM", "METHODS", "KMeansFeatures"]
