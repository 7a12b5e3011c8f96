"""PyTorch CPU side of `cargo bench -p lthnet --bench train_step`: the same LTHNet head step
(d_input 512, d_feature 2000, C 100, k 3, 64 bits; CE; RMSprop lr 1e-5, wd 5e-4) at batch 8/16/128.

    python3 crates/lthnet/benches/train_step_torch.py [--threads 2]
Prints the median milliseconds per step over 30 timed steps (after 5 warm-up steps).
"""
import argparse, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
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


for batch in (8, 16, 128):
    model = Head()
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-5, weight_decay=5e-4)
    memory = torch.rand((K + 1) * C, D_FEAT)
    x = torch.rand(batch, D_IN)
    y = torch.arange(batch) % C
    times = []
    for i in range(35):
        t = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(x, memory), y)
        loss.backward()
        opt.step()
        if i >= 5:
            times.append((time.perf_counter() - t) * 1e3)
    print(f"torch {torch.__version__} threads={args.threads} batch={batch}: median {statistics.median(times):.1f} ms/step")
