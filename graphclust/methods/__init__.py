"""Clustering methods, one per file, and the registry the CLI reads."""

from graphclust.base import BaseGraphClusterer

from .baselines import KMeansFeatures

METHODS: dict[str, type[BaseGraphClusterer]] = {
    "kmeans": KMeansFeatures,
}

__all__ = ["METHODS", "KMeansFeatures"]
