"""Train, quantize and convert the Threshold-Nets of issue 4 (``tn-hw train``).

Every model is trained on CPU from a seed: float training (Adam, cross-entropy), post-training
calibration of the power-of-two scales (:func:`~tn_hw.reference.quantize.calibrate`), a short
quantization-aware fine-tuning with straight-through rounding, and conversion to a tn-hw-net
network whose integer predictions are compared with the fake-quantized model's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import TnHwError

__all__ = ["MODELS", "ModelConfig", "TrainResult", "build_model", "train_model"]


@dataclass(frozen=True)
class ModelConfig:
    """One trainable network.

    Attributes
    ----------
    task : str
        ``"digits"`` or ``"ball3"`` (see :mod:`tn_hw.reference.data`).
    layers : tuple
        Layer descriptions: ``("linear", neuron, in, out)``, ``("conv", neuron, in, out, k,
        stride, padding)``, ``("flatten",)``, ``("relu",)``.
    input_shape : tuple of int
    input_frac : int
        Fractional bits of the quantized input.
    epochs, qat_epochs : int
    lr : float
    init_range : (float, float)
        Initial threshold range of the threshold layers.
    description : str
    """

    task: str
    layers: tuple
    input_shape: tuple
    input_frac: int
    epochs: int
    qat_epochs: int
    lr: float
    init_range: tuple = (-1.0, 1.0)
    description: str = ""
    batch: int = 16


_T, _M, _S = "threshold", "mac", "sam"

MODELS = {
    "digits-tmlp": ModelConfig(
        "digits", (("linear", _T, 64, 16), ("linear", _T, 16, 10)), (64,), 6, 60, 10, 0.01,
        (0.0, 1.0), "Threshold-MLP 64-16-10"),
    "digits-mlp": ModelConfig(
        "digits", (("linear", _M, 64, 16), ("relu",), ("linear", _M, 16, 10)), (64,), 6, 60, 10,
        0.01, description="conventional MLP 64-16-10 (ReLU), same shapes"),
    "digits-tcnn": ModelConfig(
        "digits", (("conv", _T, 1, 4, 3, 2, 1), ("conv", _T, 4, 8, 3, 2, 1), ("flatten",),
                   ("linear", _T, 32, 10)), (1, 8, 8), 6, 60, 10, 0.01, (0.0, 1.0),
        "Threshold-CNN conv3x3/2(4)-conv3x3/2(8)-FC(10)"),
    "digits-cnn": ModelConfig(
        "digits", (("conv", _M, 1, 4, 3, 2, 1), ("relu",), ("conv", _M, 4, 8, 3, 2, 1), ("relu",),
                   ("flatten",), ("linear", _M, 32, 10)), (1, 8, 8), 6, 60, 10, 0.01,
        description="conventional CNN, same shapes (ReLU)"),
    "digits-tcnn-mi": ModelConfig(
        "digits", (("conv", _T, 1, 4, 3, 2, 1), ("conv", _T, 4, 8, 3, 2, 1), ("flatten",),
                   ("linear", _M, 32, 10)), (1, 8, 8), 6, 60, 10, 0.01, (0.0, 1.0),
        "Threshold-CNN with multiplication injection: MAC output layer"),
    "ball3-tn4": ModelConfig(
        "ball3", (("linear", _T, 3, 5), ("linear", _T, 5, 3), ("linear", _T, 3, 1),
                  ("linear", _T, 1, 1)), (3,), 6, 60, 10, 0.003, (-1.0, 1.0),
        "paper Table 2 4-layer NN N3(5)-N5(3)-N3(1)-N1(1) on ball3"),
    "ball3-mac4": ModelConfig(
        "ball3", (("linear", _M, 3, 5), ("relu",), ("linear", _M, 5, 3), ("relu",),
                  ("linear", _M, 3, 1), ("linear", _M, 1, 1)), (3,), 6, 60, 10, 0.01,
        description="conventional twin of ball3-tn4 (the paper's Fig. 11 baseline), ReLU"),
    "ball3-sam4": ModelConfig(
        "ball3", (("linear", _S, 3, 5), ("linear", _S, 5, 3), ("linear", _S, 3, 1),
                  ("linear", _S, 1, 1)), (3,), 6, 60, 10, 0.01,
        description="Sum-and-Max twin of ball3-tn4 (dense SAM layers, no bias); a SAM network "
                    "is monotone in every input, so it cannot enclose the ball"),
}


#: Standard deviation of the initial SAM weights (ball3-sam4: 0.1 reached 63-64 % in float on
#: two seeds, 0.3 62-63 %, 1.0 58 %).
SAM_INIT_SCALE = 0.1


def build_model(config: ModelConfig, seed: int):
    """The float ``nn.Sequential`` of ``config``; thresholds and polarities come from ``seed``."""
    import torch
    from torch import nn

    from .reference.sam import SamLayer
    from .reference.tnet import make_conv2d, make_linear

    torch.manual_seed(seed)
    modules = []
    for i, spec in enumerate(config.layers):
        kind = spec[0]
        extra = {}
        if len(spec) > 1 and spec[1] == _T:
            extra = {"seed": seed * 1000 + i, "init_range": config.init_range}
        if kind == "linear" and spec[1] == _S:
            sam = SamLayer(spec[2], spec[3])
            with torch.no_grad():  # N(0, 0.1**2): a unit normal starts with logits far too large
                sam.wp.mul_(SAM_INIT_SCALE)
                sam.wm.mul_(SAM_INIT_SCALE)
            modules.append(sam)
        elif kind == "linear":
            modules.append(make_linear(spec[1], spec[2], spec[3], **extra))
        elif kind == "conv":
            modules.append(make_conv2d(spec[1], spec[2], spec[3], spec[4], stride=spec[5],
                                       padding=spec[6], **extra))
        elif kind == "flatten":
            modules.append(nn.Flatten())
        elif kind == "relu":
            modules.append(nn.ReLU())
        else:
            raise ValueError(f"unknown layer kind {kind!r}")
    return nn.Sequential(*modules)


@dataclass
class TrainResult:
    """What :func:`train_model` produced.

    ``metrics`` holds accuracies in percent on the test set: ``float`` (after float training),
    ``ptq`` (fake-quantized right after calibration), ``fake_quant`` and ``integer`` (after
    quantization-aware fine-tuning), ``agreement`` (share of test inputs where the integer and the
    fake-quantized predictions agree) and ``logits_equal`` (share whose integer logits equal the
    fake-quantized logits exactly, after scaling).
    """

    model: object
    plan: object
    network: dict
    metrics: dict = field(default_factory=dict)


def _loss(logits, y):
    from torch import nn

    if logits.shape[-1] == 1:
        return nn.functional.binary_cross_entropy_with_logits(logits[:, 0], y.float())
    return nn.functional.cross_entropy(logits, y)


def _accuracy(pred, y) -> float:
    return round(100.0 * float((pred == y).double().mean()), 2)


def _fit(forward, params, x, y, epochs, lr, batch, seed, log=None, label=""):
    import torch

    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, epochs))
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for start in range(0, len(x), batch):
            idx = order[start:start + batch]
            loss = _loss(forward(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        sched.step()
        if log and (epoch + 1) % 10 == 0:
            log(f"  {label} epoch {epoch + 1}/{epochs}: loss {total / len(x):.4f}")


def train_model(name: str, *, seed: int = 0, epochs: int | None = None,
                qat_epochs: int | None = None, log=None) -> TrainResult:
    """Train, quantize and convert the model ``name`` of :data:`MODELS`.

    Parameters
    ----------
    name : str
    seed : int
        Seeds the thresholds, polarities, initial weights and batch order (the data split is fixed).
    epochs, qat_epochs : int or None
        Override the configuration's float and quantization-aware epochs (tests use few).
    log : callable or None
        Receives progress lines.

    Returns
    -------
    TrainResult

    Raises
    ------
    TnHwError
        If ``name`` is unknown.
    """
    import torch

    from .reference import data

    if name not in MODELS:
        raise TnHwError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    config = MODELS[name]
    epochs = config.epochs if epochs is None else epochs
    qat_epochs = config.qat_epochs if qat_epochs is None else qat_epochs
    split = data.load_split(config.task)
    shape = config.input_shape
    x_train = split.x_train.reshape(len(split.x_train), *shape)
    x_test = split.x_test.reshape(len(split.x_test), *shape)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # reproducible timings, and the machine is shared
    try:
        return _train(name, config, seed, epochs, qat_epochs, log, split, x_train, x_test)
    finally:
        torch.set_num_threads(threads)


def _train(name, config, seed, epochs, qat_epochs, log, split, x_train, x_test):
    import torch

    from .reference import data, network, quantize

    shape = config.input_shape
    model = build_model(config, seed)
    metrics = {}

    _fit(model, list(model.parameters()), x_train, split.y_train, epochs, config.lr,
         config.batch, seed, log, "float")
    with torch.no_grad():
        metrics["float"] = _accuracy(network.predict_logits(model(x_test)), split.y_test)

    plan = quantize.calibrate(model, x_train, width=8, input_frac=config.input_frac)

    def fake_quant(x, ste=False):
        return quantize.fake_quant_forward(model, plan, x.to(torch.float64), ste=ste)

    with torch.no_grad():
        metrics["ptq"] = _accuracy(network.predict_logits(fake_quant(x_test)), split.y_test)
    if qat_epochs:
        model.double()
        _fit(lambda x: fake_quant(x, ste=True), list(model.parameters()), x_train,
             split.y_train, qat_epochs, config.lr / 10, config.batch, seed + 1, log, "qat")
        model.float()
    with torch.no_grad():
        fq_logits = fake_quant(x_test)
    fq_pred = network.predict_logits(fq_logits)
    metrics["fake_quant"] = _accuracy(fq_pred, split.y_test)

    raw = quantize.to_network(model, plan, name=name, task=config.task, input_shape=shape)
    net = network.load_network(raw)
    x_int = data.quantize_input(x_test, 8, config.input_frac)
    int_logits = network.forward(net, x_int)
    int_pred = network.predict_logits(int_logits)
    metrics["integer"] = _accuracy(int_pred, split.y_test)
    metrics["agreement"] = _accuracy(int_pred, fq_pred)
    scaled = torch.round(fq_logits * 2.0 ** plan.layers[-1].acc_frac).to(torch.int64)
    metrics["logits_equal"] = _accuracy((scaled == int_logits).all(dim=1), torch.tensor(True))
    raw["training"] = {"seed": seed, "epochs": epochs, "qat_epochs": qat_epochs,
                       "accuracy": {k: metrics[k] for k in ("float", "ptq", "fake_quant",
                                                            "integer")},
                       "agreement": metrics["agreement"],
                       "logits_equal": metrics["logits_equal"],
                       "test_set": f"{config.task}-test", "description": config.description}
    return TrainResult(model, plan, raw, metrics)
