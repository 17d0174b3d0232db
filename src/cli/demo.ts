/** `mixrl demo`: the engine at a glance — a gradient, its IR, and a few steps of gradient descent. */
import * as M from '..';

/** Prints the demo to `write` (stdout by default); returns the final loss. */
export async function runDemo(write: (line: string) => void = console.log): Promise<number> {
  write('mixrl demo: pure-functional autodiff on the CPU backend\n');

  const f = (x: M.Tensor) => M.sum(M.mul(M.sin(x), M.exp(x)));
  const x = M.tensor([0, 0.5, 1], { dtype: 'float64' });
  write('f(x) = sum(sin(x) * exp(x)),  x = [0, 0.5, 1]');
  write(`grad f(x)            = ${fmt(await M.grad(f)(x).toArray())}`);
  write(`exp(x)(sin x + cos x) = ${fmt(await M.mul(M.exp(x), M.add(M.sin(x), M.cos(x))).toArray())}  (closed form)\n`);

  write('The IR that grad(f) runs (makeIR):');
  write(String(M.makeIR(M.grad(f))(x)));

  write('\nLeast squares by gradient descent: fit w in y = X w');
  const key = M.random.key(0);
  const [kx, kw] = M.random.split(key);
  const X = M.random.normal(kx, [64, 3], 'float64');
  const trueW = M.tensor([[1.5], [-2], [0.5]], { dtype: 'float64' });
  const y = M.matmul(X, trueW);
  const loss = (w: M.Tensor) => M.mean(M.square(M.sub(M.matmul(X, w), y)));
  const step = M.valueAndGrad(loss);
  let w = M.mul(M.random.normal(kw, [3, 1], 'float64'), 0.1);
  let value = 0;
  for (let i = 0; i <= 100; i++) {
    const [l, g] = step(w);
    value = await l.item();
    if (i % 25 === 0) write(`  step ${String(i).padStart(3)}  loss ${value.toExponential(3)}`);
    w = M.sub(w, M.mul(g, 0.1));
  }
  write(`  w = ${fmt(await M.reshape(w, [3]).toArray())}  (true [1.5, -2, 0.5])`);
  return value;
}

function fmt(v: unknown): string {
  return Array.isArray(v) ? `[${v.map((n) => Number(n).toFixed(6)).join(', ')}]` : String(v);
}
