/**
 * Dense linear algebra for the few-parameter problems of the paper's bandit studies (Newton steps and
 * Hessian classification in 2 to 5 dimensions), on plain row-major arrays.
 */

/**
 * Eigenvalues of a small symmetric matrix (row-major, n × n) by cyclic Jacobi rotations, ascending.
 *
 * @example
 * symmetricEigenvalues([2, 1, 1, 2], 2); // [1, 3]
 */
export function symmetricEigenvalues(h: ArrayLike<number>, n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => 0.5 * (h[i * n + j] + h[j * n + i])));
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p][q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (a[p][q] === 0) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const tt = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const cs = 1 / Math.sqrt(tt * tt + 1);
        const sn = tt * cs;
        for (let k = 0; k < n; k++) {
          const [akp, akq] = [a[k][p], a[k][q]];
          a[k][p] = cs * akp - sn * akq;
          a[k][q] = sn * akp + cs * akq;
        }
        for (let k = 0; k < n; k++) {
          const [apk, aqk] = [a[p][k], a[q][k]];
          a[p][k] = cs * apk - sn * aqk;
          a[q][k] = sn * apk + cs * aqk;
        }
      }
    }
  }
  return a.map((row, i) => row[i]).sort((x, y) => x - y);
}

/**
 * Solves H d = g (n × n, row-major) by Gaussian elimination with partial pivoting; null if singular.
 *
 * @example
 * solve([2, 0, 0, 4], [2, 2], 2); // [1, 0.5]
 */
export function solve(h: ArrayLike<number>, g: ArrayLike<number>, n: number): number[] | null {
  const a = Array.from({ length: n }, (_, i) => [...Array.from({ length: n }, (_, j) => h[i * n + j]), g[i]]);
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r][col]) > Math.abs(a[piv][col])) piv = r;
    if (!(Math.abs(a[piv][col]) > 1e-300)) return null;
    [a[col], a[piv]] = [a[piv], a[col]];
    for (let r = col + 1; r < n; r++) {
      const f = a[r][col] / a[col][col];
      for (let k = col; k <= n; k++) a[r][k] -= f * a[col][k];
    }
  }
  const d = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let sum = a[r][n];
    for (let k = r + 1; k < n; k++) sum -= a[r][k] * d[k];
    d[r] = sum / a[r][r];
  }
  return d;
}
