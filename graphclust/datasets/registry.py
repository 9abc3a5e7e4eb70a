"""The dataset registry: names, files, public addresses, expected statistics, loaders.

``load_dataset(name)`` looks the name up here; ``load_dataset(path)`` reads a Shchur-style
``.npz`` or a ``.mat`` file given by path. Statistics are those of the shared data README
(undirected edges = distinct pairs i != j after symmetrising; self-loops dropped).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from graphclust.graph import Graph, binarize, remove_self_loops, symmetrize
from graphclust.neighbors import knn_graph

from ._files import MissingDataError, RemoteFile, data_root, ensure_files
from .formats import (
    encode_labels,
    read_edge_txt,
    read_idx,
    read_label_txt,
    read_mat,
    read_usps_h5,
)
from .planetoid import PLANETOID_PARTS, load_planetoid
from .synthetic import load_digits_graph, make_csbm, make_moons

log = logging.getLogger(__name__)

__all__ = ["DatasetSpec", "REGISTRY", "register", "list_datasets", "load_dataset", "dataset_info"]


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    description: str
    files: tuple[RemoteFile, ...]
    loader: Callable[..., Graph]
    stats: dict[str, int | None] = field(default_factory=dict)
    embedded: bool = False
    #: a system folder that may hold the same files by name (a Debian data package)
    system_dir: str | None = None

    def local_files(self, root: Path) -> list[Path] | None:
        """The files under ``root``, else under ``system_dir``; None when either misses one."""
        for base, keep_layout in ((root, True), (Path(self.system_dir or ""), False)):
            if base == Path("") and not keep_layout:
                continue
            paths = [base / f.path if keep_layout else base / Path(f.path).name
                     for f in self.files]
            if all(p.is_file() for p in paths):
                return paths
        return None


REGISTRY: dict[str, DatasetSpec] = {}


def register(spec: DatasetSpec) -> DatasetSpec:
    if spec.name in REGISTRY:
        raise ValueError(f"A dataset named {spec.name!r} is already registered.")
    REGISTRY[spec.name] = spec
    return spec


def _clean(a: sp.spmatrix) -> tuple[sp.csr_matrix, int]:
    """Symmetrise, binarise, drop self-loops; also return how many loops were dropped."""
    b = binarize(a)
    loops = int(np.count_nonzero(b.diagonal()))
    return remove_self_loops(symmetrize(b)), loops


# ---------------------------------------------------------------- Planetoid
_PLANETOID_SHA: dict[str, dict[str, str | None]] = {
    "cora": {
        "x": "23cfa55d91c6f624233f5eb7b6e3f141f1bd2b2ae39608a63cf5d084bb27baab",
        "y": "94465c14eb53e04ca262198dcbb2521ee8af60fb3f3d546cd6ca24a511b0e7d1",
        "tx": "b9afbaa4a400df991f6f02ef677e1e44da55ffc04801fd02f9e673987829226a",
        "ty": "41f5ac76596a1699cc33f53084a2419e92961c42bb75f36fc38e616d348532ad",
        "allx": "9419ba2f26f5c35243db64aba110e0f35a04851609e0dc5433450676ca6b8543",
        "ally": "2b998f5cc7fedc86e7f97ca2498f47a1ffc1462c29e2d578b23bf3f62b6e7d71",
        "graph": "58f13302f39dde8852dad6fe6d15b89b077b6d7f837626bce671ef80344b383d",
        "test.index": "297ce89af2b51a6a194181c7dbe1796c6a1cf9cd9349a88383b1b1e227867875",
    },
    "citeseer": {
        "x": "d20de19150741e555de0ed037195630fc194114ebc7fd72ced62810148aa22f6",
        "y": "8ba87e515d8e3ee3cf52f6d2c5b86aa73f11ecad825a808455209ec26cd54924",
        "tx": "539a8906a2da97628d212f2fdd668c109a8b3f0d36574b59e5d3fd5b5303da21",
        "ty": "55e5bd1ba1e733a04598753ad1a8d57957f4b8f89e74519f41f4f4938767e4ce",
        "allx": "2ac30345d95c9ec933a817ee0bdd6a5f077f8c184a20e696910192d534414668",
        "ally": "f704b2d986dde6c2669934de1f3ae5696a6cf9455c0f6b2646a2d135ea0a1c95",
        "graph": "d79a4ef9d3e7169aee8946145f6b7306e35bc79bffad26346cfb94e10e9912a7",
        "test.index": "2af990671580b6b2df5d158d1038f8292e30c9cd821b5453f399659b25b723d4",
    },
    "pubmed": {
        "x": "fbe9cb5c47200d1b7769a26e579be3b7130b556831f9d850e77c4c74f2599b33",
        "y": "e6c807633307a07ed659249006536a147c7999c797f11a2560752990181b41b3",
        "tx": "4eb5f5d0f30f26497eb0ac6ac9719d09c67e284f1ed0385c93f3ef27a671da3d",
        "ty": "ee2e0d4819d9fbcc403689c3bf2e49face401b605932f093bc58ab6461130fdd",
        "allx": None,  # not in the shared data: no checksum known to us; shape-checked
        "ally": "0c37bbe3b5014ec365e9d393cf4791925e5ed94fb194305d74f064a8d7b50f0e",
        "graph": "5b89f0036ca22909471f1e6558eb42fa06e0c730a577bde5b058b40638f81dc9",
        "test.index": "b101d421688bbaecbd82e8a18f1e282378d6830f3a37666f28ebc47f844341b5",
    },
}
_PLANETOID_URL = "https://github.com/kimiyoung/planetoid/raw/master/data/ind.{name}.{part}"


def _planetoid_files(name: str, parts: tuple[str, ...] = PLANETOID_PARTS) -> tuple[RemoteFile, ...]:
    return tuple(
        RemoteFile(
            f"planetoid/{name}/raw/ind.{name}.{p}",
            _PLANETOID_URL.format(name=name, part=p),
            _PLANETOID_SHA[name][p],
        )
        for p in parts
    )


def _make_planetoid_loader(name: str) -> Callable[..., Graph]:
    def load(root: Path, download: bool = True, structure_only: bool = False) -> Graph:
        raw = root / "planetoid" / name / "raw"
        if structure_only:
            # the shared data keeps PubMed's incomplete copy apart, in raw_incomplete/
            incomplete = root / "planetoid" / name / "raw_incomplete"
            if not (raw / f"ind.{name}.graph").is_file() and incomplete.is_dir():
                raw = incomplete
            else:
                parts = ("y", "ty", "ally", "graph", "test.index")
                ensure_files(name, _planetoid_files(name, parts), root, download=download)
            return load_planetoid(name, raw, structure_only=True)
        try:
            ensure_files(name, _planetoid_files(name), root, download=download)
        except MissingDataError as exc:
            if (root / "planetoid" / name / "raw_incomplete").is_dir():
                incomplete = root / "planetoid" / name / "raw_incomplete"
                have = sorted(p.name for p in incomplete.iterdir())
                raise MissingDataError(
                    f"Dataset {name!r}: node features are missing. Only an incomplete copy "
                    f"exists in {incomplete} ({', '.join(have)}); it lacks "
                    f"ind.{name}.allx, the features of every non-test node. The graph and "
                    f"labels load alone with load_dataset({name!r}, structure_only=True).\n{exc}"
                ) from None
            raise
        return load_planetoid(name, raw)

    return load


_stats: tuple[int, ...]
for _name, _desc, _stats in (
    ("cora", "Cora citation graph (Planetoid)", (2708, 5278, 1433, 7)),
    ("citeseer", "CiteSeer citation graph (Planetoid; 15 placeholder nodes unlabelled)", (3327, 4552, 3703, 6)),
    ("pubmed", "PubMed diabetes citation graph (Planetoid)", (19717, 44324, 500, 3)),
):
    register(
        DatasetSpec(
            _name,
            _desc,
            _planetoid_files(_name),
            _make_planetoid_loader(_name),
            dict(zip(("nodes", "edges", "features", "classes"), _stats)),
        )
    )


# ---------------------------------------------------------------- SDCN / AGCN
def _sdcn_files(name: str, mat_name: str) -> tuple[RemoteFile, ...]:
    """Every file the SDCN/AGCN graph loader reads (the spec lists the same)."""
    return (
        RemoteFile(f"sdcn/{name}/{name}_graph.txt"),
        RemoteFile(f"sdcn/{name}/{name}_label.txt"),
        RemoteFile(f"sdcn/{name}/{mat_name}"),
    )


def _make_sdcn_loader(name: str, mat_name: str) -> Callable[..., Graph]:
    def load(root: Path, download: bool = True) -> Graph:
        d = root / "sdcn" / name
        ensure_files(name, _sdcn_files(name, mat_name), root, download=download)
        mat = read_mat(d / mat_name)
        if "fea" not in mat:
            raise ValueError(f"{d / mat_name}: expected a variable 'fea' (node features).")
        x = np.asarray(mat["fea"], dtype=np.float32)
        y = read_label_txt(d / f"{name}_label.txt")
        if y.shape[0] != x.shape[0]:
            raise ValueError(
                f"{d}: {y.shape[0]} labels but {x.shape[0]} feature rows; files do not match."
            )
        a, loops = _clean(read_edge_txt(d / f"{name}_graph.txt", x.shape[0]))
        return Graph(
            x, a, encode_labels(y), name,
            meta={"source": str(d), "format": "sdcn", "self_loops_removed": loops},
        )

    return load


for _name, _mat, _desc, _stats in (
    ("acm", "acm.mat", "ACM paper graph (SDCN/AGCN)", (3025, 13128, 1870, 3)),
    ("dblp", "DBLP.mat", "DBLP author graph (SDCN/AGCN)", (4057, 3528, 334, 4)),
    ("cite", "cite.mat", "CiteSeer as used by SDCN/AGCN (placeholders labelled class 0)", (3327, 4552, 3703, 6)),
):
    register(
        DatasetSpec(
            _name,
            _desc,
            _sdcn_files(_name, _mat),
            _make_sdcn_loader(_name, _mat),
            dict(zip(("nodes", "edges", "features", "classes"), _stats)),
        )
    )


def _load_usps(root: Path, download: bool = True, k: int = 3, rebuild_knn: bool = False) -> Graph:
    """USPS with SDCN's k-NN graph (k in 1, 3, 5, 10), or ours (``rebuild_knn=True``)."""
    files = [RemoteFile("sdcn/usps/usps.h5")]
    if not rebuild_knn:
        if k not in (1, 3, 5, 10):
            raise ValueError(
                f"SDCN ships USPS graphs for k in (1, 3, 5, 10) but k={k}; pass "
                "rebuild_knn=True to build a k-NN graph of any k."
            )
        files.append(RemoteFile(f"sdcn/usps/usps{k}_graph.txt"))
    ensure_files("usps", files, root, download=download)
    x, y = read_usps_h5(root / "sdcn/usps/usps.h5")
    if rebuild_knn:
        a = knn_graph(x, k, metric="heat")
        loops = 0
    else:
        a, loops = _clean(read_edge_txt(root / f"sdcn/usps/usps{k}_graph.txt", x.shape[0]))
    return Graph(x, a, y, "usps", meta={"format": "sdcn", "knn": k, "self_loops_removed": loops,
                                        "image_shape": (1, 16, 16)})


register(
    DatasetSpec(
        "usps",
        "USPS digits, 16x16, with SDCN's symmetrised k-NN graph (k=3)",
        (RemoteFile("sdcn/usps/usps.h5"), RemoteFile("sdcn/usps/usps3_graph.txt")),
        _load_usps,
        {"nodes": 9298, "edges": 21452, "features": 256, "classes": 10},
    )
)


def _sdcn_txt_files(name: str, k: int | None) -> list[RemoteFile]:
    """The SDCN text layout's files; the shipped k-NN graph unless ``k`` is None (rebuilt)."""
    files = [RemoteFile(f"sdcn/{name}/{name}.txt"), RemoteFile(f"sdcn/{name}/{name}_label.txt")]
    if k is not None:
        files.append(RemoteFile(f"sdcn/{name}/{name}{k}_graph.txt"))
    return files


def _make_sdcn_txt_loader(name: str, default_k: int) -> Callable[..., Graph]:
    """SDCN's text layout for feature-only data: ``<name>.txt`` (N x d floats),
    ``<name>_label.txt`` and the k-NN graph ``<name><k>_graph.txt``; ``rebuild_knn=True``
    builds our own k-NN graph (heat kernel, symmetrised) from the features instead."""

    def load(root: Path, download: bool = True, k: int = default_k,
             rebuild_knn: bool = False) -> Graph:
        d = root / "sdcn" / name
        files = _sdcn_txt_files(name, None if rebuild_knn else k)
        ensure_files(name, files, root, download=download)
        x = np.loadtxt(d / f"{name}.txt", dtype=np.float32, ndmin=2)
        y = read_label_txt(d / f"{name}_label.txt")
        if y.shape[0] != x.shape[0]:
            raise ValueError(
                f"{d}: {y.shape[0]} labels but {x.shape[0]} feature rows; files do not match."
            )
        if rebuild_knn:
            a, loops = knn_graph(x, k, metric="heat"), 0
        else:
            a, loops = _clean(read_edge_txt(d / f"{name}{k}_graph.txt", x.shape[0]))
        return Graph(x, a, encode_labels(y), name,
                     meta={"source": str(d), "format": "sdcn", "knn": k, "self_loops_removed": loops})

    return load


_txt_specs: tuple[tuple[str, int, str, tuple[int | None, ...]], ...] = (
    ("hhar", 5, "HHAR sensor records (SDCN/AGCN; k=5 kNN graph). Not in the shared data: unverified",
     (10299, None, 561, 6)),
    ("reut", 3, "Reuters 10k subset (SDCN/AGCN; k=3 kNN graph). Not in the shared data: unverified",
     (10000, None, 2000, 4)),
)
for _tname, _tk, _tdesc, _tstats in _txt_specs:
    register(
        DatasetSpec(
            _tname,
            _tdesc,
            tuple(_sdcn_txt_files(_tname, _tk)),
            _make_sdcn_txt_loader(_tname, _tk),
            dict(zip(("nodes", "edges", "features", "classes"), _tstats)),
        )
    )


# ---------------------------------------------------------------- Shchur .npz
_SHCHUR_URL = "https://github.com/shchur/gnn-benchmark/raw/master/data/npz/{file}"


def _graph_from_shchur(path: Path, name: str) -> Graph:
    from .graphfiles import read_graph_npz

    adjacency, features, y = read_graph_npz(path)
    a, loops = _clean(adjacency)
    return Graph(
        features, a, None if y is None else encode_labels(y), name,
        meta={"source": str(path), "format": "shchur-npz", "self_loops_removed": loops},
    )


def _make_npz_loader(name: str) -> Callable[..., Graph]:
    def load(root: Path, download: bool = True) -> Graph:
        (path,) = ensure_files(name, REGISTRY[name].files, root, download=download)
        return _graph_from_shchur(path, name)

    return load


for _name, _dir, _file, _sha, _desc, _stats in (
    ("amazon-photo", "amazon_photo", "amazon_electronics_photo.npz",
     "bdb1feb8e6ff42ee44024b04479145029c563fd42fc31bff80af20887ba0439a",
     "Amazon Photo co-purchase graph (Shchur et al.)", (7650, 119081, 745, 8)),
    ("coauthor-cs", "coauthor_cs", "ms_academic_cs.npz",
     "933c745734e78908c7eb77172a673fee0503f30e26e5a99b36814d88534c42e3",
     "Coauthor CS co-authorship graph (Shchur et al.)", (18333, 81894, 6805, 15)),
):
    _rel = f"npz/{_dir}/{_file}"
    register(
        DatasetSpec(
            _name,
            _desc,
            (RemoteFile(_rel, _SHCHUR_URL.format(file=_file), _sha),),
            _make_npz_loader(_name),
            dict(zip(("nodes", "edges", "features", "classes"), _stats)),
        )
    )


# ---------------------------------------------------------------- feature-only
def _load_coil20(root: Path, download: bool = True, k: int = 10, metric: str = "cosine") -> Graph:
    (path,) = ensure_files("coil20", (RemoteFile("mat/coil20/COIL20.mat"),), root, download=download)
    mat = read_mat(path)
    x = np.asarray(mat["X"], dtype=np.float32) / 255.0
    y = encode_labels(mat["Y"])
    return Graph(x, knn_graph(x, k, metric=metric), y, "coil20",  # type: ignore[arg-type]
                 meta={"format": "mat", "knn": k, "image_shape": (1, 32, 32)})


def _load_mnist_test(root: Path, download: bool = True, k: int = 10, metric: str = "cosine") -> Graph:
    img, lab = ensure_files(
        "mnist-test",
        (RemoteFile("idx/mnist_test/t10k-images-idx3-ubyte.gz"),
         RemoteFile("idx/mnist_test/t10k-labels-idx1-ubyte.gz")),
        root,
        download=download,
    )
    x = read_idx(img).reshape(-1, 28 * 28).astype(np.float32) / 255.0
    y = read_idx(lab).astype(np.int64)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"{img} has {x.shape[0]} images but {lab} has {y.shape[0]} labels.")
    return Graph(x, knn_graph(x, k, metric=metric), y, "mnist-test",  # type: ignore[arg-type]
                 meta={"format": "idx", "knn": k, "image_shape": (1, 28, 28)})


register(DatasetSpec("coil20", "COIL-20 object images 32x32 with a k-NN graph (k=10)",
                     (RemoteFile("mat/coil20/COIL20.mat"),), _load_coil20,
                     {"nodes": 1440, "edges": None, "features": 1024, "classes": 20}))
register(DatasetSpec("mnist-test", "MNIST test split 28x28 with a k-NN graph (k=10)",
                     (RemoteFile("idx/mnist_test/t10k-images-idx3-ubyte.gz"),
                      RemoteFile("idx/mnist_test/t10k-labels-idx1-ubyte.gz")),
                     _load_mnist_test,
                     {"nodes": 10000, "edges": None, "features": 784, "classes": 10}))


_FASHION_DIR = "/usr/share/datasets/fashion-mnist"
_IDX_PARTS = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
              "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}


def _idx_files(folder: str, parts: tuple[str, ...]) -> tuple[RemoteFile, ...]:
    return tuple(RemoteFile(f"idx/{folder}/{name}") for part in parts
                 for name in _IDX_PARTS[part])


def _make_idx_loader(name: str, how_to_get: str) -> Callable[..., Graph]:
    """Images in MNIST's IDX layout (image and label files per split): under the data root,
    else in the spec's ``system_dir`` (a Debian data package), else from ``path=`` (a folder
    holding the ``*-ubyte.gz`` files). ``k=0`` skips the k-NN graph (an empty adjacency) for
    methods that read the features alone. Pixels are scaled to [0, 1]."""

    def load(root: Path, download: bool = True, k: int = 10, metric: str = "cosine",
             path: str | os.PathLike[str] | None = None) -> Graph:
        spec = REGISTRY[name]
        paths: list[Path] | None
        if path is not None:
            given = [Path(path) / Path(f.path).name for f in spec.files]
            missing = [p for p in given if not p.is_file()]
            paths = given
            if missing:
                raise MissingDataError(f"Dataset {name!r}: no {', '.join(map(str, missing))}.")
        else:
            paths = spec.local_files(root)
        if paths is None:
            where = root / Path(spec.files[0].path).parent
            raise MissingDataError(
                f"Dataset {name!r} needs the IDX files "
                f"({', '.join(Path(f.path).name for f in spec.files)}), found neither under the "
                f"data root ({where})" + (f" nor in {spec.system_dir}" if spec.system_dir else "")
                + f". {how_to_get}, or put them under the data root, or pass path= to a folder "
                "that holds them."
            )
        images = [read_idx(p) for p in paths[0::2]]
        labels = [read_idx(p) for p in paths[1::2]]
        x = np.concatenate([i.reshape(i.shape[0], -1) for i in images]).astype(np.float32) / 255
        y = np.concatenate(labels).astype(np.int64)
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"{paths}: {x.shape[0]} images but {y.shape[0]} labels.")
        if k < 0:
            raise ValueError(f"k must be >= 0 (0 = no k-NN graph) but got {k}.")
        a = (knn_graph(x, k, metric=metric) if k > 0  # type: ignore[arg-type]
             else sp.csr_matrix((x.shape[0], x.shape[0]), dtype=np.float32))
        side = images[0].shape[1:]
        return Graph(x, a, y, name, meta={"format": "idx", "knn": k,  # type: ignore[arg-type]
                                          "source": str(paths[0].parent),
                                          "image_shape": (1, *map(int, side))})

    return load


_GET_FASHION = "Install them with 'apt-get install dataset-fashion-mnist' (Debian)"
for _fname, _folder, _parts, _fdesc, _n, _sys, _get in (
    ("fashion-mnist", "fashion_mnist", ("train", "test"),
     "Fashion-MNIST, all 70,000 images 28x28 (train + test); Debian dataset-fashion-mnist",
     70000, _FASHION_DIR, _GET_FASHION),
    ("fashion-mnist-test", "fashion_mnist", ("test",),
     "Fashion-MNIST test split, 10,000 images 28x28; Debian dataset-fashion-mnist", 10000,
     _FASHION_DIR, _GET_FASHION),
    ("mnist", "mnist", ("train", "test"),
     "MNIST, all 70,000 images 28x28 (train + test). Not in the shared data: unverified", 70000,
     None, "Download them from the MNIST page (train- and t10k- images and labels)"),
):
    register(DatasetSpec(_fname, _fdesc, _idx_files(_folder, _parts),
                         _make_idx_loader(_fname, _get),
                         {"nodes": _n, "edges": None, "features": 784, "classes": 10},
                         system_dir=_sys))


# ---------------------------------------------------------------- STL-10 features (unverified)
def _load_stl10_features(root: Path, download: bool = True, k: int = 0, metric: str = "cosine",
                         path: str | os.PathLike[str] | None = None) -> Graph:
    """STL-10's 13,000 labelled images as the 2048-d spatial mean of an ImageNet ResNet-50's
    last convolutional block (DGG's input, section 4.2): ``features.npy`` (13000, 2048)
    float and ``labels.npy`` (13000,) ints 0..9, under ``stl10_features/`` of the data root
    or in the folder ``path``. Not obtainable here (the features must be computed with
    pre-trained weights): unverified, tested on generated files of the same shape."""
    spec = REGISTRY["stl10-features"]
    if path is not None:
        paths = [Path(path) / Path(f.path).name for f in spec.files]
    else:
        paths = [root / f.path for f in spec.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise MissingDataError(
            f"Dataset 'stl10-features' needs {', '.join(missing)}: the (13000, 2048) ResNet-50 "
            "features of STL-10's train + test images and their labels as .npy files (compute "
            "them with a pre-trained ResNet-50), under the data root or in a folder given as "
            "path=.")
    x = np.load(paths[0], allow_pickle=False)
    y = np.load(paths[1], allow_pickle=False)
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(f"stl10-features: expected features (N, D) and labels (N,) but got "
                         f"{x.shape} and {y.shape}.")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"stl10-features: labels must be integers but are {y.dtype}.")
    if x.shape != (13000, 2048):
        log.warning("stl10-features: shape %s, not the expected (13000, 2048)", x.shape)
    x = np.ascontiguousarray(x, dtype=np.float32)
    if k < 0:
        raise ValueError(f"k must be >= 0 (0 = no k-NN graph) but got {k}.")
    a = (knn_graph(x, k, metric=metric) if k > 0  # type: ignore[arg-type]
         else sp.csr_matrix((x.shape[0], x.shape[0]), dtype=np.float32))
    return Graph(x, a, y.astype(np.int64), "stl10-features",
                 meta={"format": "npy", "knn": k, "source": str(paths[0].parent)})


register(DatasetSpec(
    "stl10-features", "STL-10 as 2048-d ResNet-50 features (DGG). Not in the shared data: unverified",
    (RemoteFile("stl10_features/features.npy"), RemoteFile("stl10_features/labels.npy")),
    _load_stl10_features, {"nodes": 13000, "edges": None, "features": 2048, "classes": 10}))


# ---------------------------------------------------------------- embedded
def _load_digits(root: Path, download: bool = True, k: int = 10, metric: str = "cosine") -> Graph:
    return load_digits_graph(k, metric)


def _load_csbm(root: Path, download: bool = True, **params: Any) -> Graph:
    return make_csbm(**params)


def _load_moons(root: Path, download: bool = True, **params: Any) -> Graph:
    return make_moons(**params)


register(DatasetSpec("digits", "scikit-learn's bundled 8x8 digits with a k-NN graph (k=10); offline",
                     (), _load_digits, {"nodes": 1797, "edges": None, "features": 64, "classes": 10},
                     embedded=True))
register(DatasetSpec("csbm", "generated contextual stochastic block model; offline",
                     (), _load_csbm, {"nodes": 2000, "edges": None, "features": 100, "classes": 5},
                     embedded=True))
register(DatasetSpec("moons", "generated two interleaved half circles in 2-D (DGG's Fig. 1); offline",
                     (), _load_moons, {"nodes": 4000, "edges": 0, "features": 2, "classes": 2},
                     embedded=True))


# ---------------------------------------------------------------- public API
def list_datasets() -> list[str]:
    return sorted(REGISTRY)


def dataset_info(name: str, root: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    spec = _spec(name)
    base = data_root(root)
    available = spec.embedded or spec.local_files(base) is not None
    return {
        "name": spec.name,
        "description": spec.description,
        **{k: spec.stats.get(k) for k in ("nodes", "edges", "features", "classes")},
        "available": available,
        "downloadable": bool(spec.files) and all(f.url for f in spec.files),
        "files": [str(base / f.path) for f in spec.files],
    }


def _spec(name: str) -> DatasetSpec:
    key = name.lower().replace("_", "-")
    if key not in REGISTRY:
        raise ValueError(
            f"Unknown dataset {name!r}. Registered: {', '.join(list_datasets())}; "
            "or pass a path to a .npz/.mat file, or use load_edge_list_graph for your own data."
        )
    return REGISTRY[key]


def load_dataset(
    name: str | os.PathLike[str],
    root: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    **kwargs: Any,
) -> Graph:
    """Load a registered dataset by name, or a Shchur-style ``.npz`` / ``.mat`` file by path.

    Parameters
    ----------
    name : str or path
        A name from :func:`list_datasets`, or the path of a graph file in any layout of
        :mod:`graphclust.datasets.graphfiles` (``.npz`` in both key conventions, a
        ``_adj.npy``/``_feat.npy``/``_label.npy`` triplet, a ``.mat`` file).
    root : path, optional
        Data root; default ``$GRAPHCLUST_DATA`` else ``~/.cache/graphclust``.
    download : bool, default True
        Fetch missing files with a public address (Planetoid, Shchur) and check SHA-256.
    **kwargs
        Loader options, e.g. ``structure_only=True`` (Planetoid), ``k=`` (k-NN datasets),
        csbm's generator parameters.
    """
    p = Path(name)
    if p.suffix.lower() in (".npz", ".mat", ".npy"):
        return _load_path(p, **kwargs)
    spec = _spec(str(name))
    try:
        return spec.loader(data_root(root), download=download, **kwargs)
    except TypeError as exc:
        if "unexpected keyword" in str(exc):
            raise TypeError(f"load_dataset({spec.name!r}): {exc}") from None
        raise


def _load_path(path: Path, k: int = 10) -> Graph:
    from .graphfiles import load_graph_file

    return load_graph_file(path, k=k)
