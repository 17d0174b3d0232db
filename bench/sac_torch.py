"""PyTorch baseline for bench/sac.ts: the same SAC update (double Q, targets, SG-RP or SGM-MRP actor,
fixed or automatic alpha, Polyak) at the same sizes. Prints one JSON line per (size, agent).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python3 bench/sac_torch.py --updates 30 --device cpu --threads 1

With --serve it times what it is asked, one JSON request per line on stdin, one JSON reply per
line on stdout, so bench/sac.ts can alternate its rounds with mixrl's:
    {"round": [size, agent], "updates": N}  ->  {"updateMs": ms per update over N updates}
    {"act": [size, agent]}                  ->  {"actUs": us per action}
Each (size, agent) is built and warmed up (3 updates) when first asked for.
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SIZES = [dict(obs=3, act=1, hidden=64, batch=32, auto_alpha=False), dict(obs=17, act=6, hidden=256, batch=256, auto_alpha=True)]
K = 5


def mlp(i, h, o):
    return nn.Sequential(nn.Linear(i, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, o))


def log_det(x):
    return (2 * (math.log(2) - x - F.softplus(-2 * x))).sum(-1)


def normal_logp(x, mu, log_std):
    return (-0.5 * ((x - mu) / log_std.exp()) ** 2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


class Actor(nn.Module):
    def __init__(self, obs, act, hidden, mixture):
        super().__init__()
        self.mixture, self.act = mixture, act
        self.net = mlp(obs, hidden, 2 * K * act + K if mixture else 2 * act)

    def heads(self, s):
        out = self.net(s)
        if not self.mixture:
            mu, log_std = out.split(self.act, -1)
            return None, mu, log_std.clamp(-20, 2)
        logits, rest = out[..., :K], out[..., K:]
        mu, log_std = rest.split(K * self.act, -1)
        shape = out.shape[:-1] + (K, self.act)
        return logits, mu.reshape(shape), log_std.clamp(-20, 2).reshape(shape)

    def logp_pre(self, x, logits, mu, log_std):
        """log pi(tanh x) for pre-tanh x [..., A] (mixture: x [..., A] against components [..., K, A])."""
        if logits is None:
            return normal_logp(x, mu, log_std) - log_det(x)
        comp = normal_logp(x.unsqueeze(-2), mu, log_std)
        return torch.logsumexp(F.log_softmax(logits, -1) + comp, -1) - log_det(x)

    def sample(self, s):
        logits, mu, log_std = self.heads(s)
        if logits is None:
            x = mu + log_std.exp() * torch.randn_like(mu)
            return torch.tanh(x), self.logp_pre(x, logits, mu, log_std)
        z = torch.distributions.Categorical(logits=logits).sample()
        xs = mu + log_std.exp() * torch.randn_like(mu)
        x = xs.gather(-2, z[..., None, None].expand(*z.shape, 1, self.act)).squeeze(-2)
        return torch.tanh(x), self.logp_pre(x, logits, mu, log_std)


def make(size, mixture, device):
    """The update of (size, agent), warmed up: functions timing a round of updates and an action."""
    torch.manual_seed(0)
    o, a, h, b = size["obs"], size["act"], size["hidden"], size["batch"]
    actor = Actor(o, a, h, mixture).to(device)
    q1, q2 = mlp(o + a, h, 1).to(device), mlp(o + a, h, 1).to(device)
    t1, t2 = mlp(o + a, h, 1).to(device), mlp(o + a, h, 1).to(device)
    t1.load_state_dict(q1.state_dict()); t2.load_state_dict(q2.state_dict())
    log_alpha = torch.tensor(math.log(0.1), device=device, requires_grad=True)
    opt_a = torch.optim.Adam(actor.parameters(), lr=3e-4)
    opt_q = torch.optim.Adam(list(q1.parameters()) + list(q2.parameters()), lr=3e-4)
    opt_al = torch.optim.Adam([log_alpha], lr=3e-4)
    s, act, r, s2, d = (torch.randn(b, o, device=device), torch.rand(b, a, device=device) * 2 - 1,
                        torch.randn(b, device=device), torch.randn(b, o, device=device), torch.zeros(b, device=device))
    q = lambda net, s, a: net(torch.cat([s, a], -1)).squeeze(-1)

    def update():
        alpha = log_alpha.exp().detach()
        with torch.no_grad():
            a2, lp2 = actor.sample(s2)
            y = r + 0.99 * (1 - d) * (torch.min(q(t1, s2, a2), q(t2, s2, a2)) - alpha * lp2)
        loss_q = F.mse_loss(q(q1, s, act), y) + F.mse_loss(q(q2, s, act), y)
        opt_q.zero_grad(); loss_q.backward(); opt_q.step()
        for p in list(q1.parameters()) + list(q2.parameters()):
            p.requires_grad_(False)
        logits, mu, log_std = actor.heads(s)
        if not mixture:
            x = mu + log_std.exp() * torch.randn_like(mu)
            lp = actor.logp_pre(x, logits, mu, log_std)
            surrogate = (torch.min(q(q1, s, torch.tanh(x)), q(q2, s, torch.tanh(x))) - alpha * lp).mean()
        else:  # MRP: one reparameterized draw per component, weights summed out
            xs = mu + log_std.exp() * torch.randn_like(mu)  # [B, K, A]
            lp = actor.logp_pre(xs.transpose(0, 1), logits, mu, log_std).transpose(0, 1)  # [B, K]
            sk = s.unsqueeze(1).expand(b, K, o).reshape(b * K, o)
            ak = torch.tanh(xs).reshape(b * K, a)
            qk = torch.min(q(q1, sk, ak), q(q2, sk, ak)).reshape(b, K)
            surrogate = (F.softmax(logits, -1) * (qk - alpha * lp)).sum(-1).mean()
        opt_a.zero_grad(); (-surrogate).backward(); opt_a.step()
        for p in list(q1.parameters()) + list(q2.parameters()):
            p.requires_grad_(True)
        if size["auto_alpha"]:
            with torch.no_grad():
                _, lpa = actor.sample(s)
            loss_al = -(log_alpha * (lpa + (-a)).detach()).mean()
            opt_al.zero_grad(); loss_al.backward(); opt_al.step()
        with torch.no_grad():
            for t, src in ((t1, q1), (t2, q2)):
                for pt, ps in zip(t.parameters(), src.parameters()):
                    pt.mul_(1 - 0.005).add_(ps, alpha=0.005)

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for _ in range(3):
        update()

    def timed_round(updates):
        """Milliseconds per update over `updates` updates."""
        sync(); t0 = time.perf_counter()
        for _ in range(updates):
            update()
        sync()
        return (time.perf_counter() - t0) / updates * 1e3

    def act_us():
        obs1 = torch.full((1, o), 0.1, device=device)
        with torch.no_grad():
            for _ in range(5):
                actor.sample(obs1)[0].cpu()
            t1_ = time.perf_counter()
            for _ in range(200):
                actor.sample(obs1)[0].cpu()
        return (time.perf_counter() - t1_) / 200 * 1e6

    return timed_round, act_us


def run(size, mixture, updates, device, rounds):
    """The median of `rounds` rounds of `updates` updates each (as bench/sac.ts times its own), and an action's latency."""
    timed_round, act_us = make(size, mixture, device)
    per_round = sorted(timed_round(updates) for _ in range(rounds))
    return per_round[len(per_round) // 2], act_us()


def serve(device):
    built = {}
    for line in sys.stdin:
        request = json.loads(line)
        size, agent = request["round"] if "round" in request else request["act"]
        if (size, agent) not in built:
            built[(size, agent)] = make(SIZES[size], agent == "sgm-mrp", device)
        timed_round, act_us = built[(size, agent)]
        reply = dict(updateMs=timed_round(request["updates"])) if "round" in request else dict(actUs=act_us())
        print(json.dumps(reply), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--updates", type=int, default=30)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--device", default="cpu")
    # OpenBLAS built with OpenMP ignores set_num_threads: the caller also sets OMP_NUM_THREADS and
    # OPENBLAS_NUM_THREADS (bench/sac.ts does), else its products use every core.
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--serve", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.serve:
        serve(args.device)
        return
    for i, size in enumerate(SIZES):
        for agent, mixture in (("sg-rp", False), ("sgm-mrp", True)):
            update_ms, act_us = run(size, mixture, args.updates, args.device, args.rounds)
            print(json.dumps(dict(size=i, agent=agent, updateMs=update_ms, actUs=act_us)), flush=True)


if __name__ == "__main__":
    main()
