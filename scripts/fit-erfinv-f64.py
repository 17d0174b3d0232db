#!/usr/bin/python3
"""Fits the polynomials of float64 erfinv (src/tensor/cpu/float64-math.ts) and prints them.

erfinv(y) = y * g(w) with w = -log((1 - y)(1 + y)). g is approximated on three ranges of w, in
Giles' variables: w in [0, 6.25] by a polynomial in w - 3.125; w in [6.25, 16] by one in
sqrt(w) - 3.25; w in [16, 36.6] (|y| up to 1 - 2^-53) by one in sqrt(w) - 5.025. Each is the
Chebyshev interpolant of g at 60 digits (mpmath), converted to powers of the shifted variable and
rounded to doubles. The script reports each one's largest relative error over 2001 points of its
range, with the rounded coefficients evaluated exactly (the fit's error, before float64
evaluation's own rounding): under 5e-17 for all three.

Usage: /usr/bin/python3 scripts/fit-erfinv-f64.py   (needs python3-mpmath)
"""
import sys

import mpmath as mp

mp.mp.dps = 60

# (name, variable, low, high, degree): the variable is w itself or sqrt(w).
RANGES = [
    ('ERFINV_CENTRAL', 'w', 0, 6.25, 24),
    ('ERFINV_MIDDLE', 'sqrt(w)', 2.5, 4, 20),
    ('ERFINV_TAIL', 'sqrt(w)', 4, 6.05, 18),
]


def g_of_w(w):
    """erfinv(y) / y for y = sqrt(1 - e^-w), and its limit sqrt(pi) / 2 at w = 0."""
    w = mp.mpf(w)
    if w == 0:
        return mp.sqrt(mp.pi) / 2
    y = mp.sqrt(-mp.expm1(-w))
    return mp.erfinv(y) / y


def chebyshev_interpolant(f, low, high, degree):
    """Coefficients of the interpolant of f at the Chebyshev nodes, in powers of x - centre."""
    n = degree + 1
    centre, half = (low + high) / 2, (high - low) / 2
    nodes = [mp.cos(mp.pi * (k + mp.mpf(1) / 2) / n) for k in range(n)]
    vandermonde = mp.matrix([[u**j for j in range(n)] for u in nodes])
    in_u = mp.lu_solve(vandermonde, mp.matrix([f(centre + half * u) for u in nodes]))
    return [in_u[j] / half**j for j in range(n)], centre


def main():
    for name, variable, low, high, degree in RANGES:
        f = g_of_w if variable == 'w' else (lambda s: g_of_w(s * s))
        low, high = mp.mpf(low), mp.mpf(high)
        coefficients, centre = chebyshev_interpolant(f, low, high, degree)
        doubles = [float(c) for c in coefficients]
        worst = max(
            abs(sum(mp.mpf(c) * (x - centre) ** j for j, c in enumerate(doubles)) / f(x) - 1)
            for x in (low + (high - low) * i / 2000 for i in range(2001))
        )
        print(f'// {variable} - {float(centre)!r} on [{float(low)}, {float(high)}], degree {degree}: '
              f'largest relative error {mp.nstr(worst, 3)}', file=sys.stderr)
        print(f'const {name} = [{", ".join(repr(c) for c in doubles)}];')


if __name__ == '__main__':
    main()
