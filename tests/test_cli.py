import json
import subprocess
import sys

from graphclust.cli import main

from .conftest import requires_data


def test_datasets_table(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "digits" in out and "embedded" in out and "cora" in out


@requires_data
def test_info_loads_present_dataset(capsys, data_root):
    assert main(["info", "cora", "--root", str(data_root)]) == 0
    out = capsys.readouterr().out
    assert "nodes=2708 edges=5278" in out


def test_unknown_dataset_exits_nonzero(capsys):
    assert main(["info", "nope"]) == 1
    assert "Unknown dataset 'nope'" in capsys.readouterr().err


def test_run_writes_outputs(tmp_path, capsys):
    assert main(["run", "kmeans", "--dataset", "digits", "--runs", "2", "--out", str(tmp_path), "--quiet"]) == 0
    rec = json.loads((tmp_path / "metrics.json").read_text())
    assert len(rec["runs"]) == 2 and rec["summary"]["acc"]["mean"] > 0.6
    assert (tmp_path / "labels.csv").read_text().startswith("node,label\n0,")
    assert not any(p.name.startswith(".partial") for p in tmp_path.iterdir())


def test_unknown_set_key_exits_2_and_lists_valid(capsys):
    try:
        main(["run", "kmeans", "--dataset", "digits", "--set", "bogus=1"])
    except SystemExit as exc:
        assert exc.code == 2
    err = capsys.readouterr().err
    assert "unknown parameter(s) bogus" in err and "n_init" in err


def test_python_dash_m():
    out = subprocess.run([sys.executable, "-m", "graphclust", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and "graphclust" in out.stdout


def test_parse_set_values():
    from graphclust.cli import _parse_value

    assert _parse_value("3") == 3 and _parse_value("0.5") == 0.5
    assert _parse_value("(32,32,64,8)") == (32, 32, 64, 8)
    assert _parse_value("500,500") == (500, 500)
    assert _parse_value("false") is False and _parse_value("none") is None
    assert _parse_value("row") == "row"


def test_run_agcn_with_tuple_widths(tmp_path, capsys):
    out = tmp_path / "r"
    rc = main(["run", "agcn", "--dataset", "csbm", "--set", "widths=(16,16,32,4)",
               "--set", "n_iter=5", "--set", "pretrain_epochs=2", "--out", str(out)])
    assert rc == 0
    assert json.loads((out / "metrics.json").read_text())["params"]["widths"] == [16, 16, 32, 4]
