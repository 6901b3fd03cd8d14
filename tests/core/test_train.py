"""Training (tiny epoch counts), the ``tn-hw train`` command and the committed checkpoints."""

import json
from pathlib import Path

import pytest

from tn_hw import cli
from tn_hw.reference import data, network
from tn_hw.train import MODELS, build_model, train_model

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_tiny_training_converts_to_an_exact_integer_network(name):
    result = train_model(name, epochs=1, qat_epochs=1)
    net = network.load_network(result.network)
    assert net.name == name and net.task == MODELS[name].task
    m = result.metrics
    assert m["agreement"] == 100.0 and m["logits_equal"] == 100.0
    assert m["fake_quant"] == m["integer"]
    for key in ("float", "ptq", "fake_quant", "integer"):
        assert 0.0 <= m[key] <= 100.0
    # The integer accuracy is what the network file computes on the test set.
    x, y = data.network_dataset(net, f"{net.task}-test")
    accuracy = 100.0 * float((network.predict(net, x) == y).double().mean())
    assert round(accuracy, 2) == m["integer"]


def test_training_is_deterministic_per_seed():
    a = train_model("digits-tmlp", epochs=1, qat_epochs=0, seed=4).network
    b = train_model("digits-tmlp", epochs=1, qat_epochs=0, seed=4).network
    c = train_model("digits-tmlp", epochs=1, qat_epochs=0, seed=5).network
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    assert a["layers"] != c["layers"]


def test_training_learns_something():
    result = train_model("digits-tmlp", epochs=3, qat_epochs=0)
    assert result.metrics["integer"] > 50.0  # chance is 10%


def test_models_are_threshold_or_mac_as_named():
    tmlp = build_model(MODELS["digits-tmlp"], 0)
    assert all(type(m).__name__ == "TLinear" for m in tmlp)
    mixed = build_model(MODELS["digits-tcnn-mi"], 0)
    assert [type(m).__name__ for m in mixed] == ["TConv2d", "TConv2d", "Flatten", "Linear"]
    tn4 = build_model(MODELS["ball3-tn4"], 0)
    assert [(m.in_features, m.out_features) for m in tn4] == [(3, 5), (5, 3), (3, 1), (1, 1)]


def test_cli_train_writes_a_valid_network(tmp_path, capsys):
    out = tmp_path / "sub" / "tmlp.json"
    code = cli.main(["train", "digits-tmlp", "-o", str(out), "--epochs", "1",
                     "--qat-epochs", "0", "--quiet"])
    assert code == 0
    text = capsys.readouterr().out
    assert "integer/fake-quant agreement 100.00%" in text
    net = network.load_network(out)
    raw = json.loads(out.read_text())
    assert raw["training"]["command"].startswith("tn-hw train digits-tmlp")
    assert net.input_shape == (64,)
    assert sorted(p.name for p in out.parent.iterdir()) == ["tmlp.json"]


def test_cli_train_errors_leave_nothing(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "mnist-huge", "-o", str(tmp_path / "x.json")])
    assert info.value.code == 2
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = cli.main(["train", "ball3-tn4", "-o", str(blocker / "x.json"), "--epochs", "0",
                     "--qat-epochs", "0", "--quiet"])
    assert code == 2
    assert "tn-hw: error: cannot write" in capsys.readouterr().err
    assert cli.main(["train", "ball3-tn4", "-o", str(tmp_path), "--quiet"]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert cli.main(["train", "ball3-tn4", "-o", str(tmp_path / "y.json"),
                     "--qat-epochs", "-2"]) == 2
    assert "--qat-epochs must be >= 0, not -2" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.parametrize("path", sorted(MODELS_DIR.glob("*.json")), ids=lambda p: p.name)
def test_committed_checkpoint_reproduces_its_recorded_accuracy(path):
    net = network.load_network(path)
    recorded = json.loads(path.read_text())["training"]
    x, y = data.network_dataset(net, recorded["test_set"])
    accuracy = 100.0 * float((network.predict(net, x) == y).double().mean())
    assert round(accuracy, 2) == recorded["accuracy"]["integer"]
    assert recorded["agreement"] == 100.0


def test_all_models_are_committed():
    assert sorted(p.stem for p in MODELS_DIR.glob("*.json")) == sorted(MODELS)

