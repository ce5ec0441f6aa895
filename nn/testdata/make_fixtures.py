#!/usr/bin/env python3
"""Reference outputs from PyTorch for nn's tests.

Run from the repository root with Debian's python3-torch (PyTorch 1.13):

    /usr/bin/python3 nn/testdata/make_fixtures.py

It rewrites the files in nn/testdata/torch/, which the Go tests read, so CI
needs no Python. Everything is float64 with fixed seeds; the output is
deterministic for a given PyTorch build. The safetensors files are written
by save_safetensors below (the safetensors Python package is not needed);
the format is the one nn/safetensors documents.

Files:
  layers.safetensors   per case C: C/x (input), C/p/<key> (the module's
                       state_dict), C/y (output), C/r (a fixed cotangent),
                       C/gx and C/gp/<key> (gradients of sum(y*r)); BatchNorm
                       cases add C/after/<buffer>; recurrent cases add the
                       initial state C/h0, C/c0, final state C/hT, C/cT, their
                       cotangents C/rh, C/rc and gradients C/gh0, C/gc0.
  losses.safetensors   per case C: C/input, C/target (labels as floats for
                       the class losses), C/out, C/r and C/grad (gradient of
                       sum(out*r) with respect to the input).
  losses.json          per case: the loss and its settings.
  optim.json           parameter trajectories of torch.optim optimisers on
                       fixed gradients, clip_grad_norm_, the learning
                       rates of torch.optim.lr_scheduler schedules, and
                       OneCycleLR with cycle_momentum (rates, momenta and
                       trajectories).
  model.safetensors    the state_dict of a small trained LSTM+BatchNorm+MLP
                       model, with PyTorch's own keys.
  model_io.safetensors that model's input x, its eval-mode output y_eval,
                       its train-mode output y_train and the running
                       statistics after that train-mode call (after/...).
  conv_model.safetensors, conv_model_io.safetensors
                       the same for a small convolutional encoder-decoder
                       (input x, eval-mode output y_eval).
"""

import json
import math
import os
import struct
import sys

import torch
import torch.nn as tnn
import torch.nn.functional as F

assert torch.__version__.startswith("1.13"), torch.__version__
assert sys.byteorder == "little"
torch.set_default_dtype(torch.float64)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch")
os.makedirs(OUT, exist_ok=True)


def save_safetensors(path, tensors, metadata=None):
    """Writes a dict of name -> tensor as safetensors (F64, F32 or I64)."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs, offset = [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        dtype = {torch.float64: "F64", torch.float32: "F32", torch.int64: "I64"}[t.dtype]
        b = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def randomize(module, gen):
    """Gives every floating-point parameter random values, so that no
    default (ones, zeros) hides a layout mistake."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)


# ---------------------------------------------------------------- layers

def layer_cases():
    gen = torch.Generator().manual_seed(1)
    cases = {}

    def plain(name, module, x, train=True, before=None):
        module.train(train)
        if before:
            before(module)
        state = {k: v.clone() for k, v in module.state_dict().items()}
        x = x.clone().requires_grad_(x.dtype == torch.float64)  # not the embedding's indices
        y = module(x)
        r = torch.randn(y.shape, generator=gen)
        params = dict(module.named_parameters())
        wrt = ([x] if x.requires_grad else []) + list(params.values())
        grads = torch.autograd.grad((y * r).sum(), wrt)
        out = {"x": x.detach(), "y": y.detach(), "r": r}
        if x.requires_grad:
            out["gx"] = grads[0]
            grads = grads[1:]
        for k, v in state.items():
            out["p/" + k] = v
        for (k, _), g in zip(params.items(), grads):
            out["gp/" + k] = g
        for k, v in module.named_buffers():
            out["after/" + k] = v.clone()
        cases[name] = out

    def x_(*shape):
        return torch.randn(shape, generator=gen)

    lin = tnn.Linear(4, 3)
    randomize(lin, gen)
    plain("linear", lin, x_(5, 4))

    for name, m, x in [
        ("layernorm", tnn.LayerNorm(4), x_(3, 4)),
        ("layernorm_2d", tnn.LayerNorm([3, 4]), x_(2, 3, 4)),
        ("layernorm_noaffine", tnn.LayerNorm(5, elementwise_affine=False, eps=1e-3), x_(2, 3, 5)),
        ("groupnorm", tnn.GroupNorm(2, 4), x_(3, 4, 5)),
        ("groupnorm_2d", tnn.GroupNorm(3, 6), x_(2, 6, 2, 3)),
        ("groupnorm_noaffine", tnn.GroupNorm(1, 3, affine=False), x_(2, 3, 4)),
    ]:
        randomize(m, gen)
        plain(name, m, x)

    def set_stats(count):
        def f(m):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen))
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
                m.num_batches_tracked.fill_(count)
        return f

    for name, m, x, train, count in [
        ("batchnorm1d_train", tnn.BatchNorm1d(4), x_(6, 4), True, 3),
        ("batchnorm1d_train_3d", tnn.BatchNorm1d(4, momentum=0.3), x_(3, 4, 5), True, 0),
        ("batchnorm1d_eval", tnn.BatchNorm1d(4), x_(6, 4), False, 7),
        ("batchnorm1d_cumulative", tnn.BatchNorm1d(3, momentum=None), x_(5, 3), True, 2),
        ("batchnorm2d_train", tnn.BatchNorm2d(2), x_(3, 2, 4, 5), True, 1),
        ("batchnorm2d_eval", tnn.BatchNorm2d(2, eps=1e-3), x_(3, 2, 4, 5), False, 4),
        ("batchnorm2d_noaffine", tnn.BatchNorm2d(3, affine=False), x_(2, 3, 2, 2), True, 0),
    ]:
        randomize(m, gen)
        plain(name, m, x, train, set_stats(count))

    # Convolutions and pools, with odd geometries: dilation 2 with stride
    # 3, groups and depthwise, every padding mode, transposed convolutions
    # with output padding (also one of a stride or more, allowed below the
    # dilation), ceil mode with padding, adaptive pools whose sizes do not
    # divide.
    for name, m, x in [
        ("conv2d", tnn.Conv2d(3, 4, 3), x_(2, 3, 6, 5)),
        ("conv2d_dil2_stride3", tnn.Conv2d(2, 3, (3, 2), stride=3, padding=(2, 1), dilation=2), x_(2, 2, 11, 9)),
        ("conv2d_groups2", tnn.Conv2d(4, 6, 3, stride=(1, 2), padding=1, groups=2), x_(2, 4, 5, 7)),
        ("conv2d_depthwise", tnn.Conv2d(3, 6, 3, padding=1, groups=3, bias=False), x_(2, 3, 5, 4)),
        ("conv2d_reflect", tnn.Conv2d(2, 3, 3, stride=2, padding=(2, 1), padding_mode="reflect"), x_(2, 2, 6, 5)),
        ("conv2d_replicate", tnn.Conv2d(2, 2, (2, 3), padding=(1, 2), dilation=(1, 2), padding_mode="replicate"), x_(1, 2, 4, 5)),
        ("conv2d_circular", tnn.Conv2d(2, 4, 3, padding=2, groups=2, padding_mode="circular"), x_(2, 2, 3, 4)),
        ("conv1d", tnn.Conv1d(3, 4, 3, stride=2, padding=1, dilation=2), x_(2, 3, 11)),
        ("conv1d_depthwise_reflect", tnn.Conv1d(4, 4, 3, padding=2, groups=4, padding_mode="reflect"), x_(2, 4, 6)),
        ("convt2d", tnn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1), x_(2, 3, 4, 3)),
        ("convt2d_groups_dil", tnn.ConvTranspose2d(4, 6, (3, 2), stride=(2, 3), padding=(1, 0), output_padding=(1, 2),
                                                   dilation=(2, 1), groups=2), x_(2, 4, 3, 4)),
        ("convt2d_outpad_dilation", tnn.ConvTranspose2d(2, 3, 2, dilation=3, output_padding=2, bias=False), x_(1, 2, 3, 3)),
        ("maxpool_2x2_odd", tnn.MaxPool2d(2), x_(2, 3, 5, 7)),
        ("maxpool_ceil_pad", tnn.MaxPool2d((3, 2), stride=(2, 1), padding=1, ceil_mode=True), x_(2, 3, 7, 6)),
        ("maxpool_dilation", tnn.MaxPool2d(3, stride=2, padding=1, dilation=2, ceil_mode=True), x_(2, 2, 8, 9)),
        ("avgpool_ceil_pad", tnn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True), x_(2, 3, 8, 7)),
        ("avgpool_ceil_pad_exclude", tnn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), x_(2, 3, 8, 7)),
        ("avgpool_divisor", tnn.AvgPool2d((2, 3), stride=(1, 2), padding=(1, 1), divisor_override=5), x_(2, 2, 5, 6)),
        ("adaptive_avg", tnn.AdaptiveAvgPool2d((3, 4)), x_(2, 3, 7, 5)),
        ("adaptive_avg_up", tnn.AdaptiveAvgPool2d((4, 7)), x_(2, 2, 3, 5)),
        ("adaptive_avg_keep", tnn.AdaptiveAvgPool2d((None, 2)), x_(2, 2, 3, 5)),
        ("adaptive_max", tnn.AdaptiveMaxPool2d((3, 2)), x_(2, 3, 7, 5)),
    ]:
        randomize(m, gen)
        plain(name, m, x)

    emb = tnn.Embedding(10, 3, padding_idx=1)
    with torch.no_grad():
        emb.weight.copy_(torch.randn(10, 3, generator=gen))
    plain("embedding", emb, torch.tensor([[0, 1, 9, 3], [3, 3, 1, 7]], dtype=torch.int64))

    # Recurrent layers, batch_first, with initial and final states.
    for name, m, with_state in [
        ("rnn", tnn.RNN(3, 4, batch_first=True), False),
        ("rnn_relu_2layers", tnn.RNN(3, 4, num_layers=2, nonlinearity="relu", batch_first=True), True),
        ("gru", tnn.GRU(3, 4, batch_first=True), False),
        ("gru_2layers_bidir", tnn.GRU(3, 4, num_layers=2, bidirectional=True, batch_first=True), True),
        ("lstm", tnn.LSTM(3, 4, batch_first=True), True),
        ("lstm_2layers_bidir", tnn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True), True),
    ]:
        randomize(m, gen)
        cells = m.num_layers * (2 if m.bidirectional else 1)
        B, T = 2, 5
        x = x_(B, T, 3).requires_grad_(True)
        lstm = isinstance(m, tnn.LSTM)
        h0 = (0.5 * x_(cells, B, 4)).requires_grad_(True)
        c0 = (0.5 * x_(cells, B, 4)).requires_grad_(True)
        if with_state:
            y, s = m(x, (h0, c0) if lstm else h0)
        else:
            y, s = m(x)
        hT, cT = (s if lstm else (s, None))
        r, rh = torch.randn(y.shape, generator=gen), torch.randn(hT.shape, generator=gen)
        obj = (y * r).sum() + (hT * rh).sum()
        out = {"x": x.detach(), "y": y.detach(), "r": r, "hT": hT.detach(), "rh": rh}
        if lstm:
            rc = torch.randn(cT.shape, generator=gen)
            obj = obj + (cT * rc).sum()
            out.update({"cT": cT.detach(), "rc": rc})
        params = dict(m.named_parameters())
        wrt = [x] + list(params.values())
        if with_state:
            wrt += [h0] + ([c0] if lstm else [])
            out["h0"] = h0.detach()
            if lstm:
                out["c0"] = c0.detach()
        grads = torch.autograd.grad(obj, wrt)
        out["gx"] = grads[0]
        for (k, v), g in zip(params.items(), grads[1:]):
            out["p/" + k] = v.detach()
            out["gp/" + k] = g
        if with_state:
            out["gh0"] = grads[1 + len(params)]
            if lstm:
                out["gc0"] = grads[2 + len(params)]
        cases[name] = out

    flat = {}
    for c, d in cases.items():
        for k, v in d.items():
            flat[c + "/" + k] = v.to(torch.float64) if k == "x" and v.dtype == torch.int64 else v
    save_safetensors(os.path.join(OUT, "layers.safetensors"), flat)


# ---------------------------------------------------------------- losses

def loss_cases():
    gen = torch.Generator().manual_seed(2)
    tensors, settings = {}, {}

    def add(name, fn, inp, target, setting, grad=True):
        inp = inp.clone().requires_grad_(True)
        out = fn(inp, target)
        r = torch.randn(out.shape, generator=gen)
        tensors[name + "/input"] = inp.detach()
        tensors[name + "/target"] = target.to(torch.float64)
        tensors[name + "/out"] = out.detach()
        tensors[name + "/r"] = r
        if grad:
            (g,) = torch.autograd.grad((out * r).sum(), inp)
            tensors[name + "/grad"] = g
        settings[name] = dict(setting, grad=grad)

    def rn(*s):
        return torch.randn(s, generator=gen)

    p, t = rn(4, 3) * 2, rn(4, 3)
    for red in ["mean", "sum", "none"]:
        for delta in [1.0, 0.5]:
            add(f"huber_{red}_{delta}", lambda a, b: F.huber_loss(a, b, reduction=red, delta=delta), p, t,
                {"loss": "huber", "reduction": red, "delta": delta})
        for beta in [1.0, 0.3, 0.0]:
            add(f"smoothl1_{red}_{beta}", lambda a, b: F.smooth_l1_loss(a, b, reduction=red, beta=beta), p, t,
                {"loss": "smoothl1", "reduction": red, "beta": beta})

    logits = rn(6, 4) * 2
    labels = torch.tensor([0, 3, 1, 1, 2, 3])
    w = torch.tensor([0.5, 2.0, 1.0, 0.25])
    logits_k = rn(3, 4, 5)  # [N, C, d]
    labels_k = torch.randint(0, 4, (3, 5), generator=gen)
    labels_k[0, 1] = 2
    labels_k[2, 4] = 2
    for red in ["mean", "sum", "none"]:
        for tag, kw in [("plain", {}), ("weight", {"weight": w}), ("ignore", {"ignore_index": 1}),
                        ("weight_ignore", {"weight": w, "ignore_index": 3})]:
            s = {"reduction": red, "weight": kw["weight"].tolist() if "weight" in kw else None,
                 "ignore_index": kw.get("ignore_index")}
            add(f"nll_{tag}_{red}", lambda a, b: F.nll_loss(a, b, reduction=red, **kw),
                F.log_softmax(logits, 1), labels, dict(s, loss="nll"))
            add(f"nll_kdim_{tag}_{red}", lambda a, b: F.nll_loss(a, b, reduction=red, **kw),
                F.log_softmax(logits_k, 1), labels_k, dict(s, loss="nll"))
            for ls in [0.0, 0.2]:
                add(f"ce_{tag}_{red}_{ls}", lambda a, b: F.cross_entropy(a, b, reduction=red, label_smoothing=ls, **kw),
                    logits, labels, dict(s, loss="ce", label_smoothing=ls))
                add(f"ce_kdim_{tag}_{red}_{ls}", lambda a, b: F.cross_entropy(a, b, reduction=red, label_smoothing=ls, **kw),
                    logits_k, labels_k, dict(s, loss="ce", label_smoothing=ls))
        probs = F.softmax(rn(6, 4), 1)
        probs_k = F.softmax(rn(3, 4, 5), 1)
        for tag, kw in [("plain", {}), ("weight", {"weight": w})]:
            for ls in [0.0, 0.1]:
                s = {"loss": "ce_soft", "reduction": red, "weight": kw["weight"].tolist() if kw else None, "label_smoothing": ls}
                add(f"cesoft_{tag}_{red}_{ls}", lambda a, b: F.cross_entropy(a, b, reduction=red, label_smoothing=ls, **kw),
                    logits, probs, s)
                add(f"cesoft_kdim_{tag}_{red}_{ls}", lambda a, b: F.cross_entropy(a, b, reduction=red, label_smoothing=ls, **kw),
                    logits_k, probs_k, s)

    q = torch.sigmoid(rn(3, 4) * 2)
    y = torch.tensor([[0, 1, 0.3, 1], [1, 0, 0, 0.8], [0.5, 1, 1, 0]])
    bw = torch.rand(4, generator=gen) + 0.5
    for red in ["mean", "sum", "none"]:
        add(f"bce_{red}", lambda a, b: F.binary_cross_entropy(a, b, reduction=red), q, y, {"loss": "bce", "reduction": red})
        add(f"bce_weight_{red}", lambda a, b: F.binary_cross_entropy(a, b, weight=bw, reduction=red), q, y,
            {"loss": "bce", "reduction": red, "bce_weight": bw.tolist()})
    z = rn(3, 4) * 3
    z[0, 0], z[1, 1] = 40.0, -40.0  # saturated logits
    pw = torch.rand(4, generator=gen) * 3
    for red in ["mean", "sum", "none"]:
        add(f"bcelogits_{red}", lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=red), z, y,
            {"loss": "bce_logits", "reduction": red})
        add(f"bcelogits_weight_posweight_{red}",
            lambda a, b: F.binary_cross_entropy_with_logits(a, b, weight=bw, pos_weight=pw, reduction=red), z, y,
            {"loss": "bce_logits", "reduction": red, "bce_weight": bw.tolist(), "pos_weight": pw.tolist()})
        add(f"bcelogits_posweight_{red}",
            lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=pw, reduction=red), z, y,
            {"loss": "bce_logits", "reduction": red, "pos_weight": pw.tolist()})
    # Probabilities at the bounds: the clamped logarithms (values only; the
    # gradients there differ by design, see nn.BCE).
    qb = torch.tensor([[0.0, 1.0, 0.0, 1.0], [0.5, 1e-50, 1.0 - 1e-16, 0.25]])
    yb = torch.tensor([[0.0, 1.0, 1.0, 0.0], [0.5, 0.7, 0.2, 1.0]])
    add("bce_bounds_sum", lambda a, b: F.binary_cross_entropy(a, b, reduction="sum"), qb, yb,
        {"loss": "bce", "reduction": "sum"}, grad=False)

    logq = F.log_softmax(rn(3, 5), 1)
    ptarget = F.softmax(rn(3, 5) * 2, 1)
    ptarget[0, 2] = 0.0  # xlogy(0, 0) = 0
    ptarget[1, 0] = 0.0
    for red in ["mean", "batchmean", "sum", "none"]:
        add(f"kldiv_{red}", lambda a, b: F.kl_div(a, b, reduction=red), logq, ptarget, {"loss": "kldiv", "reduction": red})
        add(f"kldiv_logtarget_{red}", lambda a, b: F.kl_div(a, b, reduction=red, log_target=True), logq,
            F.log_softmax(rn(3, 5), 1), {"loss": "kldiv", "reduction": red, "log_target": True})

    save_safetensors(os.path.join(OUT, "losses.safetensors"), tensors)
    with open(os.path.join(OUT, "losses.json"), "w") as f:
        json.dump(settings, f, indent=1, sort_keys=True)


# ---------------------------------------------------------------- optimisers and schedules

def optim_cases():
    gen = torch.Generator().manual_seed(3)
    steps = 6
    p0 = torch.randn(5, generator=gen)
    grads = [torch.randn(5, generator=gen) * (1 + k) for k in range(steps)]
    grads[2][1] = 0.0
    out = {"p0": p0.tolist(), "grads": [g.tolist() for g in grads], "optimizers": {}, "schedules": {}}

    def run(name, make, setting):
        p = p0.clone().requires_grad_(True)
        opt = make([p])
        traj = []
        for g in grads:
            p.grad = g.clone()
            opt.step()
            traj.append(p.detach().tolist())
        out["optimizers"][name] = dict(setting, trajectory=traj)

    run("sgd", lambda ps: torch.optim.SGD(ps, lr=0.1), {"kind": "sgd", "lr": 0.1})
    run("sgd_momentum_wd", lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01),
        {"kind": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.01})
    run("sgd_nesterov", lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True),
        {"kind": "sgd", "lr": 0.05, "momentum": 0.8, "nesterov": True})
    run("adam", lambda ps: torch.optim.Adam(ps, lr=0.01), {"kind": "adam", "lr": 0.01})
    run("adam_l2", lambda ps: torch.optim.Adam(ps, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
        {"kind": "adam", "lr": 0.02, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "l2": 0.1})
    run("adamw", lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.05),
        {"kind": "adam", "lr": 0.01, "decoupled_decay": 0.05})

    g1, g2 = torch.randn(3, 2, generator=gen), torch.randn(4, generator=gen)
    clipped = []
    for max_norm in [0.5, 100.0]:
        a, b = torch.zeros(3, 2, requires_grad=True), torch.zeros(4, requires_grad=True)
        a.grad, b.grad = g1.clone(), g2.clone()
        norm = torch.nn.utils.clip_grad_norm_([a, b], max_norm)
        clipped.append({"max_norm": max_norm, "norm": norm.item(), "after": a.grad.flatten().tolist() + b.grad.tolist()})
    out["clip"] = {"before": g1.flatten().tolist() + g2.tolist(), "cases": clipped}

    def sched(name, make, setting, n):
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=setting["base"])
        s = make(opt)
        lrs = []
        for _ in range(n):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            s.step()
        out["schedules"][name] = dict(setting, lrs=lrs)

    S = torch.optim.lr_scheduler
    sched("step", lambda o: S.StepLR(o, step_size=3, gamma=0.5), {"kind": "step", "base": 0.1, "every": 3, "gamma": 0.5}, 20)
    sched("exponential", lambda o: S.ExponentialLR(o, gamma=0.9), {"kind": "exponential", "base": 0.2, "gamma": 0.9}, 30)
    sched("warmup_cosine",
          lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=5),
                                        S.CosineAnnealingLR(o, T_max=20, eta_min=0.001)], milestones=[5]),
          {"kind": "warmup_cosine", "base": 0.1, "min": 0.001, "warmup": 5, "start_factor": 0.1, "total": 25}, 26)
    sched("cosine", lambda o: S.CosineAnnealingLR(o, T_max=30, eta_min=0.0),
          {"kind": "warmup_cosine", "base": 0.05, "min": 0.0, "warmup": 0, "start_factor": 0.0, "total": 30}, 31)
    for tag, kw in [("cos", {}), ("linear", {"anneal_strategy": "linear"}), ("three_phase", {"three_phase": True}),
                    ("custom", {"pct_start": 0.25, "div_factor": 10.0, "final_div_factor": 100.0})]:
        sched("onecycle_" + tag,
              lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=40, cycle_momentum=False, **kw),
              {"kind": "onecycle", "base": 0.5, "total": 40, "linear": tag == "linear", "three_phase": tag == "three_phase",
               "pct_start": kw.get("pct_start", 0.0), "div_factor": kw.get("div_factor", 0.0),
               "final_div_factor": kw.get("final_div_factor", 0.0)}, 40)

    # Past T_max PyTorch's cosine goes on (WarmupCosine.Periodic).
    sched("cosine_periodic", lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
          {"kind": "warmup_cosine", "base": 0.1, "min": 0.01, "warmup": 0, "start_factor": 0.0, "total": 10,
           "periodic": True}, 45)
    sched("warmup_cosine_periodic",
          lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.2, total_iters=4),
                                        S.CosineAnnealingLR(o, T_max=8, eta_min=0.002)], milestones=[4]),
          {"kind": "warmup_cosine", "base": 0.1, "min": 0.002, "warmup": 4, "start_factor": 0.2, "total": 12,
           "periodic": True}, 50)

    # One-cycle with cycle_momentum (PyTorch's default): the learning rates,
    # the momenta (SGD's momentum, Adam's betas[0]) and the parameters.
    out["cycled"] = {}
    for name, make, kw in [
        ("sgd", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9), {}),
        ("sgd_three_phase_linear", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
         {"three_phase": True, "anneal_strategy": "linear", "base_momentum": 0.7, "max_momentum": 0.9}),
        ("adam", lambda ps: torch.optim.Adam(ps, lr=0.1), {"pct_start": 0.4}),
    ]:
        total = 18
        p = p0.clone().requires_grad_(True)
        opt = make([p])
        s = S.OneCycleLR(opt, max_lr=0.3, total_steps=total, **kw)
        lrs, moms, traj = [], [], []
        for k in range(total):
            g = opt.param_groups[0]
            lrs.append(g["lr"])
            moms.append(g["betas"][0] if "betas" in g else g["momentum"])
            p.grad = grads[k % steps].clone()
            opt.step()
            s.step()
            traj.append(p.detach().tolist())
        out["cycled"][name] = {"kind": "adam" if "adam" in name else "sgd", "nesterov": "three" in name,
                               "max": 0.3, "total": total, "pct_start": kw.get("pct_start", 0.0),
                               "three_phase": kw.get("three_phase", False),
                               "linear": kw.get("anneal_strategy") == "linear",
                               "base_momentum": kw.get("base_momentum", 0.0), "max_momentum": kw.get("max_momentum", 0.0),
                               "lrs": lrs, "momenta": moms, "trajectory": traj}

    with open(os.path.join(OUT, "optim.json"), "w") as f:
        json.dump(out, f, indent=1)


# ---------------------------------------------------------------- a model trained in PyTorch

class Net(tnn.Module):
    """An LSTM reads a sequence; its last output goes through BatchNorm and
    an MLP."""

    def __init__(self):
        super().__init__()
        self.lstm = tnn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True)
        self.bn = tnn.BatchNorm1d(10)
        self.mlp = tnn.Sequential(tnn.Linear(10, 8), tnn.Tanh(), tnn.Linear(8, 2))

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.mlp(self.bn(y[:, -1]))


def model_case():
    torch.manual_seed(4)
    net = Net()
    gen = torch.Generator().manual_seed(5)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(20):
        x = torch.randn(16, 7, 3, generator=gen)
        target = torch.stack([x[:, :, 0].sum(1), x[:, :, 1].mean(1)], 1)
        loss = F.mse_loss(net(x), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    save_safetensors(os.path.join(OUT, "model.safetensors"), net.state_dict(), {"format": "pt"})
    x = torch.randn(4, 7, 3, generator=gen)
    net.eval()
    with torch.no_grad():
        y_eval = net(x)
    net.train()
    with torch.no_grad():
        y_train = net(x)
    io = {"x": x, "y_eval": y_eval, "y_train": y_train}
    for k, v in net.bn.named_buffers():
        io["after/" + k] = v
    save_safetensors(os.path.join(OUT, "model_io.safetensors"), io)


def conv_model_case():
    """A small convolutional encoder-decoder in a torch.nn.Sequential (so
    its keys are nn's defaults), trained a few steps with Adam."""
    torch.manual_seed(6)
    net = tnn.Sequential(
        tnn.Conv2d(1, 4, 3, stride=2, padding=1), tnn.ReLU(),
        tnn.Conv2d(4, 4, 3, padding=1, groups=2, padding_mode="reflect"), tnn.BatchNorm2d(4),
        tnn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1), tnn.Tanh(),
        tnn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), tnn.AdaptiveAvgPool2d((3, 3)),
        tnn.Flatten(), tnn.Linear(18, 3))
    gen = torch.Generator().manual_seed(7)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(10):
        x = torch.randn(8, 1, 10, 10, generator=gen)
        target = torch.stack([x.mean((1, 2, 3)), x[:, 0, :5].mean((1, 2)), x.abs().mean((1, 2, 3))], 1)
        loss = F.mse_loss(net(x), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    save_safetensors(os.path.join(OUT, "conv_model.safetensors"), net.state_dict(), {"format": "pt"})
    x = torch.randn(3, 1, 10, 10, generator=gen)
    net.eval()
    with torch.no_grad():
        y = net(x)
    save_safetensors(os.path.join(OUT, "conv_model_io.safetensors"), {"x": x, "y_eval": y})


layer_cases()
loss_cases()
optim_cases()
model_case()
conv_model_case()
print("wrote", sorted(os.listdir(OUT)))
