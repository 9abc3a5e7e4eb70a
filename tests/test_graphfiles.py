"""Graph files by path in every published layout, on files written here; then bad input,
tried systematically (hypothesis): every reader gives a valid Graph or a ValueError-family
error that names the file, never another exception or a hang."""

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.io import savemat

from graphclust import load_dataset, load_edge_list_graph, load_feature_graph, load_graph_file

A = np.array([[0, 1, 0, 0], [1, 1, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]], dtype=np.float32)
X = np.array([[1, 0], [0, 1], [1, 1], [0.5, 0.2]], dtype=np.float32)
Y = np.array([0, 1, 1, 0])


def _check(g, n_features=2, labels=True):
    assert g.n_nodes == 4 and g.n_edges == 3 and g.n_self_loops == 0  # the loop at 1 dropped
    assert g.n_features == n_features
    assert (g.labels is not None) == labels
    if labels:
        assert g.labels.tolist() == Y.tolist()


def _csr_parts(m, prefix, sep):
    m = sp.csr_matrix(m)
    return {f"{prefix}{sep}data": m.data, f"{prefix}{sep}indices": m.indices,
            f"{prefix}{sep}indptr": m.indptr, f"{prefix}{sep}shape": np.array(m.shape)}


def test_gnn_benchmark_npz_with_sparse_or_dense_or_no_attributes(tmp_path):
    p = tmp_path / "gb.npz"
    np.savez(p, **_csr_parts(A, "adj", "_"), **_csr_parts(X, "attr", "_"), labels=Y)
    _check(load_graph_file(p))
    np.savez(p, **_csr_parts(A, "adj", "_"), attr_matrix=X, labels=Y)
    _check(load_dataset(str(p)))
    np.savez(p, **_csr_parts(A, "adj", "_"))
    _check(load_graph_file(p), n_features=0, labels=False)


def test_dotted_g2g_ppnp_npz(tmp_path):
    p = tmp_path / "g2g.npz"
    np.savez(p, **_csr_parts(A, "adj_matrix", "."), **_csr_parts(X, "attr_matrix", "."),
             labels=Y)
    _check(load_graph_file(p))
    np.savez(p, **_csr_parts(A, "adj_matrix", "."), attr_matrix=X)
    _check(load_graph_file(p), labels=False)


def test_survey_npy_triplets_by_any_file_or_prefix(tmp_path):
    np.save(tmp_path / "toy_adj.npy", A)  # dense 0/1 with a self-loop at node 1
    np.save(tmp_path / "toy_feat.npy", X)
    np.save(tmp_path / "toy_label.npy", Y)
    for path in ("toy_adj.npy", "toy_feat.npy", "toy_label.npy", "toy"):
        g = load_graph_file(tmp_path / path)
        _check(g)
        assert g.name == "toy"
    (tmp_path / "toy_label.npy").unlink()
    _check(load_dataset(str(tmp_path / "toy_adj.npy")), labels=False)
    (tmp_path / "toy_feat.npy").unlink()
    with pytest.raises(FileNotFoundError, match=r"toy_feat\.npy \(the toy triplet needs"):
        load_graph_file(tmp_path / "toy_adj.npy")


@pytest.mark.parametrize("adj,feat,lab", [("W", "fea", "gnd"), ("A", "X", "Y"),
                                          ("Network", "Attributes", "Label"),
                                          ("adj", "features", "labels")])
def test_mat_files_with_the_common_variable_names(tmp_path, adj, feat, lab):
    p = tmp_path / "g.mat"
    savemat(p, {adj: sp.csr_matrix(A), feat: X, lab: Y.reshape(-1, 1)})
    _check(load_graph_file(p))


def test_an_unrecognised_file_lists_its_keys_and_the_layouts(tmp_path):
    p = tmp_path / "odd.npz"
    np.savez(p, foo=np.zeros(3), bar=np.ones(2))
    with pytest.raises(ValueError, match=r"odd\.npz: not a graph file this reader knows; it "
                       r"holds \['bar', 'foo'\]\. Layouts accepted: gnn-benchmark .npz .*"
                       r"g2g/PPNP .npz .*_adj\.npy .*\.mat with"):
        load_graph_file(p)
    q = tmp_path / "odd.mat"
    savemat(q, {"Q": np.eye(2)})
    with pytest.raises(ValueError, match=r"odd\.mat: not a graph file this reader knows; it "
                       r"holds \['Q'\]"):
        load_graph_file(q)
    with pytest.raises(ValueError, match=r"g\.txt: unknown extension '\.txt'"):
        (tmp_path / "g.txt").write_text("x")
        load_graph_file(tmp_path / "g.txt")


# ------------------------------------------------------------------ bad input, systematically
def _npz_bytes(parts):
    buf = io.BytesIO()
    np.savez(buf, **parts)
    return buf.getvalue()


def _valid_files(tmp_path: Path) -> dict[str, dict[str, bytes]]:
    """Each reader's valid input as {file name: bytes}; the first file is the one read."""
    b = io.BytesIO()
    savemat(b, {"W": sp.csr_matrix(A), "fea": X, "gnd": Y.reshape(-1, 1)})
    npy = {}
    for name, arr in (("t_adj.npy", A), ("t_feat.npy", X), ("t_label.npy", Y)):
        buf = io.BytesIO()
        np.save(buf, arr)
        npy[name] = buf.getvalue()
    return {
        "npz": {"g.npz": _npz_bytes({**_csr_parts(A, "adj", "_"), **_csr_parts(X, "attr", "_"),
                                      "labels": Y})},
        "npz-dotted": {"g.npz": _npz_bytes({**_csr_parts(A, "adj_matrix", "."),
                                             "attr_matrix": X, "labels": Y})},
        "mat": {"g.mat": b.getvalue()},
        "npy": npy,
        "edges": {"e.csv": b"source,target,weight\na,b,1\nb,c,2\nc,d,0.5\n",
                  "x.csv": b"id,f1,f2\na,1,0\nb,0,1\nc,1,1\nd,0.5,0.2\n",
                  "y.csv": b"id,label\na,0\nb,1\nc,1\nd,0\n"},
        "features": {"x.csv": b"1,0\n0,1\n1,1\n0.5,0.2\n0,0\n1,2\n"},
    }


def _read(kind: str, folder: Path):
    if kind in ("npz", "npz-dotted"):
        return load_graph_file(folder / "g.npz")
    if kind == "mat":
        return load_graph_file(folder / "g.mat")
    if kind == "npy":
        return load_graph_file(folder / "t_adj.npy")
    if kind == "edges":
        return load_edge_list_graph(folder / "e.csv", folder / "x.csv", folder / "y.csv")
    return load_feature_graph(folder / "x.csv", knn=2)


def _damage(data: bytes, how: str, at: float, byte: int) -> bytes:
    if not data:
        return data
    i = min(int(at * len(data)), len(data) - 1)
    if how == "cut":
        return data[:i]
    if how == "flip":
        return data[:i] + bytes([data[i] ^ (byte or 1)]) + data[i + 1:]
    if how == "text-nan":
        return data.replace(b"1", b"nan", 1)
    if how == "text-inf":
        return data.replace(b"0", b"-inf", 1)
    if how == "text-dup":
        lines = data.splitlines(keepends=True)
        return b"".join(lines + lines[-1:])
    if how == "text-id":
        return data.replace(b"c", b"zz", 1)
    if how == "text-out-of-range":
        return data.replace(b"1", b"99", 1)
    return data


KINDS = sorted(_valid_files(Path(".")))


def test_every_reader_reads_its_valid_files(tmp_path):
    for kind, files in _valid_files(tmp_path).items():
        folder = tmp_path / kind
        folder.mkdir()
        for name, data in files.items():
            (folder / name).write_bytes(data)
        g = _read(kind, folder)
        assert g.n_nodes in (4, 6), kind


@pytest.mark.filterwarnings("ignore::UserWarning")  # damaged headers are reported so
# derandomize: CI runs the same 150 cases every time (a random run found the tocsr crash that
# graphfiles._checked now prevents; explore more with HYPOTHESIS_PROFILE-free local runs)
@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(KINDS), which=st.integers(0, 2),
       how=st.sampled_from(["cut", "flip", "text-nan", "text-inf", "text-dup", "text-id",
                            "text-out-of-range"]),
       at=st.floats(0.0, 1.0), byte=st.integers(0, 255))
def test_damaged_files_give_a_graph_or_a_value_error_naming_the_file(tmp_path, kind, which, how,
                                                                     at, byte):
    files = _valid_files(tmp_path)[kind]
    folder = tmp_path / f"{kind}-{which}-{how}-{at:.4f}-{byte}"
    folder.mkdir(parents=True, exist_ok=True)
    names = list(files)
    target = names[which % len(names)]
    for name, data in files.items():
        (folder / name).write_bytes(_damage(data, how, at, byte) if name == target else data)
    try:
        g = _read(kind, folder)
    except ValueError as e:
        assert str(folder) in str(e), (kind, how, str(e))
        return
    except zipfile.BadZipFile as e:  # pragma: no cover - the failure this test looks for
        pytest.fail(f"{kind}/{how}: a BadZipFile escaped: {e}")
    assert g.n_nodes > 0 and np.isfinite(g.adjacency.data).all()


def test_a_mat_file_that_crashes_scipys_reader_is_a_value_error(tmp_path):
    # byte 145 of this file XOR 0xff: SciPy's loadmat then dies with a segmentation fault
    # inside read_var_array (the damaged sparse variable's sizes); read in a child process,
    # it is a ValueError naming the file, and this process lives on
    b = io.BytesIO()
    savemat(b, {"W": sp.csr_matrix(A), "fea": sp.csr_matrix(X), "gnd": np.arange(4).reshape(-1, 1)})
    data = bytearray(b.getvalue())
    data[145] ^= 0xFF
    p = tmp_path / "crash.mat"
    p.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"crash\.mat: SciPy's MATLAB reader crashed on this file"):
        load_graph_file(p)
