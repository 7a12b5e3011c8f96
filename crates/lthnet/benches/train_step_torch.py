"""PyTorch CPU side of `cargo bench -p lthnet --bench train_step`: the same LTHNet head step
(d_input 512, d_feature 2000, C 100, k 3, 64 bits; CE; RMSprop lr 1e-5, wd 5e-4) at batch 8/16/128,
alone (`head_step`) and behind the small CNN (`cifarnet_step`: lthnet's `CifarNet`, stages
64-128-256-512 of conv3x3 (no bias) + BatchNorm + ReLU, 2x2 max pool between stages, global
average pool; 32x32 RGB input).

    python3 crates/lthnet/benches/train_step_torch.py [--threads 2] [--only head_step|cifarnet_step]
Prints the median milliseconds per step over 30 timed steps (after 5 warm-up steps).
"""
import argparse, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--only", choices=["head_step", "cifarnet_step"], help="run one of the two benches")
args = p.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)
D_IN, D_FEAT, C, K, Q = 512, 2000, 100, 3, 64


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.direct = nn.Linear(D_IN, D_FEAT)
        self.hallucinator = nn.Linear(D_FEAT, (K + 1) * C)
        self.selector = nn.Linear(D_FEAT, D_FEAT)
        self.hash = nn.Linear(D_FEAT, Q)
        self.classifier = nn.Linear(Q, C)

    def forward(self, x, memory):
        v = F.relu(self.direct(x))
        o = F.softmax(self.hallucinator(v), dim=1)
        e = torch.tanh(self.selector(v))
        h = torch.tanh(self.hash(v + e * (o @ memory)))
        return self.classifier(h)


class CifarNet(nn.Module):
    def __init__(self, channels=(64, 128, 256, 512)):
        super().__init__()
        layers, c_in = [], 3
        for s, c in enumerate(channels):
            layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
            if s < len(channels) - 1:
                layers.append(nn.MaxPool2d(2))
            c_in = c
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x).mean(dim=(2, 3))


class Full(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = CifarNet()
        self.head = Head()

    def forward(self, x, memory):
        return self.head(self.backbone(x), memory)


def bench(name, make_model, make_x, steps):
    for batch in (8, 16, 128):
        model = make_model().train()
        opt = torch.optim.RMSprop(model.parameters(), lr=1e-5, weight_decay=5e-4)
        memory = torch.rand((K + 1) * C, D_FEAT)
        x = make_x(batch)
        y = torch.arange(batch) % C
        times = []
        for i in range(steps + 5):
            t = time.perf_counter()
            opt.zero_grad()
            loss = F.cross_entropy(model(x, memory), y)
            loss.backward()
            opt.step()
            if i >= 5:
                times.append((time.perf_counter() - t) * 1e3)
        print(f"torch {torch.__version__} threads={args.threads} {name} batch={batch}: "
              f"median {statistics.median(times):.1f} ms/step")


if args.only in (None, "head_step"):
    bench("head_step", Head, lambda b: torch.rand(b, D_IN), 30)
if args.only in (None, "cifarnet_step"):
    bench("cifarnet_step", Full, lambda b: torch.rand(b, 3, 32, 32), 10)
