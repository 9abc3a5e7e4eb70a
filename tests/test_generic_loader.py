import warnings

import numpy as np
import pytest

from graphclust.datasets import FileFormatError, load_edge_list_graph


def write(path, text):
    path.write_text(text)
    return path


def test_string_ids_duplicates_self_loops_isolated(tmp_path):
    e = write(tmp_path / "e.csv", "source,target\nalice,bob\nbob,alice\nalice,bob\ncarol,carol\nbob,carol\n")
    x = write(tmp_path / "x.csv", "id,f1,f2\nalice,1,0\nbob,0,1\ncarol,1,1\ndave,0,0\n")
    y = write(tmp_path / "y.csv", "id,label\nalice,a\nbob,b\ncarol,a\ndave,b\n")
    g = load_edge_list_graph(e, x, y)
    assert g.n_nodes == 4 and g.n_edges == 2 and g.n_self_loops == 0
    assert g.isolated_nodes().tolist() == [3]
    assert g.labels.tolist() == [0, 1, 0, 1]
    assert g.meta["node_ids"] == ["alice", "bob", "carol", "dave"]


def test_integer_ids_with_npy_features_and_weights(tmp_path):
    e = write(tmp_path / "e.tsv", "# comment\n0\t1\t2.5\n1\t2\t1\n")
    np.save(tmp_path / "x.npy", np.eye(3))
    g = load_edge_list_graph(e, tmp_path / "x.npy")
    assert g.adjacency[0, 1] == 2.5 and g.adjacency[1, 0] == 2.5 and g.labels is None


def test_truncated_csv_names_file_and_line(tmp_path):
    e = write(tmp_path / "e.csv", "0,1\n1,2\n2\n")
    x = write(tmp_path / "x.csv", "1,0\n0,1\n1,1\n")
    with pytest.raises(FileFormatError, match=r"e\.csv, line 3: expected 'source,target\[,weight\]'"):
        load_edge_list_graph(e, x)


def test_wrong_feature_row_count(tmp_path):
    e = write(tmp_path / "e.csv", "0,1\n1,2\n2,3\n")
    x = write(tmp_path / "x.csv", "1,0\n0,1\n1,1\n")
    with pytest.raises(FileFormatError, match=r"e\.csv, line 3: node id 3 is outside \[0, 2\]: .*x\.csv has 3 rows"):
        load_edge_list_graph(e, x)


def test_non_numeric_feature_cell(tmp_path):
    e = write(tmp_path / "e.csv", "0,1\n")
    x = write(tmp_path / "x.csv", "1,0\n0,abc\n")
    with pytest.raises(FileFormatError, match=r"x\.csv, line 2, column 2: 'abc' is not a number"):
        load_edge_list_graph(e, x)


def test_ragged_features_and_bad_labels(tmp_path):
    e = write(tmp_path / "e.csv", "0,1\n")
    x = write(tmp_path / "x.csv", "1,0\n0\n")
    with pytest.raises(FileFormatError, match=r"x\.csv, line 2: expected 2 columns"):
        load_edge_list_graph(e, x)
    x2 = write(tmp_path / "x2.csv", "1,0\n0,1\n")
    y = write(tmp_path / "y.csv", "0\n1\n1\n")
    with pytest.raises(FileFormatError, match=r"y\.csv: expected 2 labels"):
        load_edge_list_graph(e, x2, y)
    w = write(tmp_path / "w.csv", "0,1,-1\n")
    with pytest.raises(FileFormatError, match=r"w\.csv, line 1: weight -1 must be finite and >= 0"):
        load_edge_list_graph(w, x2)
    s = write(tmp_path / "s.csv", "0,1\nbob,1\n")
    with pytest.raises(FileFormatError, match=r"s\.csv, line 2: node id 'bob' is not an integer"):
        load_edge_list_graph(s, x2)
    with pytest.raises(FileNotFoundError, match="No such file"):
        load_edge_list_graph(tmp_path / "none.csv", x2)
    empty = write(tmp_path / "empty.csv", "")
    with pytest.raises(FileFormatError, match="the file is empty"):
        load_edge_list_graph(empty, x2)


def test_a_numeric_id_column_is_named_guessed_with_a_warning_or_kept(tmp_path):
    e = write(tmp_path / "e.csv", "0,1\n1,2\n2,3\n")
    named = write(tmp_path / "named.csv", "id,f1,f2\n0,1,0\n1,0,1\n2,1,1\n3,0,0\n")
    g = load_edge_list_graph(e, named)
    assert g.n_features == 2 and g.meta["node_ids"] == ["0", "1", "2", "3"]
    counted = write(tmp_path / "counted.csv", "1,1,0\n2,0,1\n3,1,1\n4,0,0\n")
    e1 = write(tmp_path / "e1.csv", "1,2\n2,3\n3,4\n")
    with pytest.warns(UserWarning, match=r"counted\.csv: the first column holds the integers "
                      r"1\.\.4, one per row; taken as node ids"):
        g = load_edge_list_graph(e1, counted)
    assert g.n_features == 2 and g.adjacency[0, 1] == 1
    g = load_edge_list_graph(e, counted, id_column=False)
    assert g.n_features == 3
    plain = write(tmp_path / "plain.csv", "0.5,1,0\n0.1,0,1\n0.7,1,1\n0.2,0,0\n")
    assert load_edge_list_graph(e, plain).n_features == 3
    strings = write(tmp_path / "s.csv", "a,1\nb,2\nc,3\nd,4\n")
    with pytest.raises(FileFormatError, match=r"s\.csv: id_column=False but the first column "
                       r"is not numeric \(e\.g\. 'a'\)"):
        load_edge_list_graph(e, strings, id_column=False)


def test_an_edge_lists_first_line_is_a_header_only_when_no_id_is_known(tmp_path):
    x = write(tmp_path / "x.csv", "id,f\na,1\nb,2\nc,3\n")
    # one known id and one unknown: an error, not a header skipped in silence
    half = write(tmp_path / "half.csv", "a,zz\nb,c\n")
    with pytest.raises(FileFormatError, match=r"half\.csv, line 1: node id 'zz' has no row"):
        load_edge_list_graph(half, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # header words: skipped without a word
        g = load_edge_list_graph(write(tmp_path / "h.csv", "source,target\na,b\n"), x)
    assert g.n_edges == 1
    with pytest.warns(UserWarning, match=r"odd\.csv, line 1: 'p' and 'q' are no node ids .* "
                      "skipped as a header"):
        g = load_edge_list_graph(write(tmp_path / "odd.csv", "p,q\na,b\nb,c\n"), x)
    assert g.n_edges == 2


def test_equal_edge_weights_are_kept_not_collapsed_to_one(tmp_path):
    x = write(tmp_path / "x.csv", "1,0\n0,1\n1,1\n")
    g = load_edge_list_graph(write(tmp_path / "w.csv", "0,1,2.5\n1,2,2.5\n"), x)
    assert g.adjacency[0, 1] == 2.5 and g.adjacency[2, 1] == 2.5
    g = load_edge_list_graph(write(tmp_path / "u.csv", "0,1\n0,1\n1,2\n"), x)
    assert g.adjacency[0, 1] == 1.0  # no weight column: 0/1, duplicates collapse
