# The NumPy side of numpy-peer.test.ts: reads the cases (JSON, path in argv[1]) and prints, per case,
# NumPy's own result dtypes on the raw arguments ("natural") and the reference values computed from
# the arguments cast as mixrl's documented rules say ("value": float32 math in float64, then compared
# in float32 ulps by the test), or the error NumPy raised. NaN, infinities and -0 travel as strings.
import json
import math
import sys
import warnings

import numpy as np

warnings.simplefilter("ignore")
np.seterr(all="ignore")

DTYPES = {"float32": np.float32, "float64": np.float64, "int32": np.int32, "uint32": np.uint32, "bool": np.bool_}
SPECIAL = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "-0": -0.0}


def dec(v):
    if isinstance(v, list):
        return [dec(u) for u in v]
    return SPECIAL[v] if isinstance(v, str) else v


def enc(v):
    if isinstance(v, (bool, int)):
        return int(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v == 0 and math.copysign(1.0, v) < 0:
        return "-0"
    return v


def encode(x):
    x = np.asarray(x)
    flat = x.astype(np.float64) if x.dtype.kind == "f" else x
    return {"dtype": str(x.dtype), "shape": list(x.shape), "v": [enc(v) for v in flat.ravel().tolist()]}


def array(a):
    return np.array(dec(a["v"]), dtype=DTYPES[a["dtype"]]).reshape(a["shape"])


def raw_arg(a, one_d):
    """An argument as NumPy would get it: arrays (0-d ones as 1-d where `one_d`, so that NumPy's
    value-based casting of 0-d arrays does not hide the promotion), numbers as Python scalars."""
    if a["t"] == "num":
        return dec(a["v"])
    x = array(a)
    return x.reshape(1) if one_d and x.ndim == 0 else x


def cast_arg(a, compute, ref64):
    """An argument cast to the dtype mixrl computes in; float32 widened to float64 for references."""
    if a["t"] == "num" and compute is None:
        return dec(a["v"])
    x = np.array(dec(a["v"]), dtype=DTYPES[compute]) if a["t"] == "num" else array(a)
    if compute is not None:
        x = x.astype(DTYPES[compute])
    if ref64 and x.dtype == np.float32:
        x = x.astype(np.float64)
    return x


def ax(p, key="axes"):
    v = p.get(key)
    return tuple(v) if isinstance(v, list) else v


def sigmoid(x):
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def elementwise(f):
    def g(x):
        x = np.asarray(x)
        out = np.array([f(v) for v in x.ravel().tolist()], dtype=x.dtype if x.dtype.kind == "f" else np.float64)
        return out.reshape(x.shape)

    return g


def erfinv1(y):
    if math.isnan(y) or abs(y) > 1:
        return math.nan
    if abs(y) == 1:
        return math.copysign(math.inf, y)
    if y == 0:
        return y
    s, y = math.copysign(1.0, y), abs(y)
    # Newton on the concave increasing h(x) = erf(x) - y, written (1 - y) - erfc(x) from y = 0.5 on
    # (1 - y is exact there), from a start left of the root: the iterates rise to it monotonically.
    x = y * math.sqrt(math.pi) / 2 if y < 0.5 else 0.4
    for _ in range(400):
        h = ((1 - y) - math.erfc(x)) if y >= 0.5 else (math.erf(x) - y)
        step = -h / (2 / math.sqrt(math.pi) * math.exp(-x * x))
        if not step > 1e-17 * x:
            break
        x += step
    return s * x


erf = elementwise(math.erf)
erfc = elementwise(math.erfc)
erfinv = elementwise(erfinv1)


def trunc_div(x, y):
    """Integer division truncating toward zero, x / 0 = 0, wrapping to the operands' dtype (mixrl's rule)."""
    dtype = np.result_type(x, y)
    x64, y64 = np.asarray(x).astype(np.int64), np.asarray(y).astype(np.int64)
    safe = np.where(y64 == 0, 1, y64)
    q = np.where(y64 == 0, 0, np.sign(x64) * np.sign(safe) * (np.abs(x64) // np.abs(safe)))
    return q.astype(dtype)


def div(a, p, c):
    x, y = a
    if np.result_type(x, y).kind in "iu" and c["mode"] == "value":
        return trunc_div(x, y)
    return np.true_divide(x, y)


def cast(a, p, c):
    x, to = a[0], DTYPES[p["dtype"]]
    if c["mode"] == "natural" or x.dtype.kind not in "f" or to in (np.float32, np.float64, np.bool_):
        return x.astype(to)
    # Float to integer as a typed-array store: truncate, NaN and infinities 0, wrap modulo 2^32.
    t = np.where(np.isfinite(x), np.trunc(x), 0.0)
    return np.mod(t, 4294967296.0).astype(np.uint64).astype(np.uint32).astype(to)


def trig(f, a, c):
    # The argument's magnitude: an absolute bound eps |x| covers the rounding of a float32 argument.
    return f(a[0]) if c["mode"] == "natural" else scaled(f(a[0]), np.abs(a[0]))


def scaled(value, scale):
    return {"v": value, "s": scale}


def reduce_n(x, p):
    axes = ax(p)
    if axes is None:
        return x.size
    axes = (axes,) if isinstance(axes, int) else axes
    return int(np.prod([x.shape[i] for i in axes])) if axes else 1


def summed(f):
    """A sum-like op with its rounding scale: the number of terms times the same op on |x|."""

    def g(a, p, c):
        out = f(a, p)
        if c["mode"] == "natural" or np.asarray(out).dtype.kind != "f":
            return out
        n = p["terms"] if "terms" in p else reduce_n(a[0], p)
        return scaled(out, n * np.abs(f([np.abs(v) for v in a], p)))

    return g


def variance(a, p, c):
    x = a[0]
    ddof, axes, keep = p["ddof"], ax(p), p["keepdims"]
    out = np.var(x, axis=axes, ddof=ddof, keepdims=keep)
    if c["mode"] == "natural":
        return out
    n = reduce_n(x, p)
    # Rounding of the mean, the n centred squares and their sum: n ulps of the second moment.
    scale = n * np.sum(x * x, axis=axes, keepdims=keep) / max(n - ddof, 1)
    return scaled(out, scale)


def norm(a, p, c):
    x, ord_ = np.abs(a[0]), p["ord"]
    axes, keep = ax(p), p["keepdims"]
    ord_ = dec(ord_)
    if ord_ == math.inf:
        return np.max(x, axis=axes, keepdims=keep)
    if ord_ == -math.inf:
        return np.min(x, axis=axes, keepdims=keep)
    if ord_ == 1:
        out = np.sum(x, axis=axes, keepdims=keep)
    else:
        out = np.sum(x**ord_, axis=axes, keepdims=keep) ** (1 / ord_)
    return scaled(out, (reduce_n(a[0], p) + 4) * out) if c["mode"] == "value" else out


def logsumexp(x, axes, keep=True):
    m = np.max(x, axis=axes, keepdims=True, initial=-math.inf)
    shift = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(x - shift), axis=axes, keepdims=True)) + shift
    return out if keep else np.squeeze(out, axis=axes if axes is not None else tuple(range(x.ndim)))


def lse(a, p, c):
    x, axes = a[0], ax(p)
    out = logsumexp(x, axes, p["keepdims"])
    if c["mode"] == "natural":
        return out
    m = np.max(np.where(np.isfinite(x), np.abs(x), 0), axis=axes, keepdims=p["keepdims"], initial=0)
    return scaled(out, reduce_n(x, p) + m + np.abs(out))


def softmax(a, p, c):
    x, axis = a[0], p["axis"]
    m = np.max(x, axis=axis, keepdims=True, initial=-math.inf)
    e = np.exp(x - m)
    out = e / np.sum(e, axis=axis, keepdims=True)
    if c["mode"] == "natural":
        return out
    spread = np.where(np.isfinite(x - m), np.abs(x - m), 0)
    return scaled(out, out * (x.shape[axis] + spread) + 1e-300)


def log_softmax(a, p, c):
    x, axis = a[0], p["axis"]
    m = np.max(x, axis=axis, keepdims=True, initial=-math.inf)
    out = (x - m) - np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    if c["mode"] == "natural":
        return out
    spread = np.where(np.isfinite(x - m), np.abs(x - m), 0)
    return scaled(out, x.shape[axis] + spread + np.abs(out))


def slicer(s):
    if s is None:
        return slice(None)
    if isinstance(s, int):
        return s
    return slice(*s)


def stable_order(row, descending):
    if not descending:
        return np.argsort(row, kind="stable")
    vals = row.tolist()
    # Descending: NaN first, then larger first; equal values (-0 and +0 among them) keep their order.
    return np.array(sorted(range(len(vals)), key=lambda i: (0, 0) if vals[i] != vals[i] else (1, -vals[i])), dtype=np.int64)


def argsort(x, axis, descending):
    x = np.moveaxis(x, axis, -1)
    if x.size == 0:
        return np.moveaxis(np.zeros(x.shape, np.int64), -1, axis)
    flat = x.reshape(-1, x.shape[-1])
    out = np.array([stable_order(r, descending) for r in flat], dtype=np.int64).reshape(x.shape)
    return np.moveaxis(out, -1, axis)


def gelu(a, p, c):
    x = a[0]
    if p["approximate"] == "tanh":
        out = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    else:
        out = 0.5 * x * erfc(-x / math.sqrt(2))
    return scaled(out, np.abs(x)) if c["mode"] == "value" else out


def silu(a, p, c):
    out = a[0] * sigmoid(a[0])
    return scaled(out, np.abs(a[0]) * sigmoid(a[0])) if c["mode"] == "value" else out


def huber(a, p, c):
    e = np.abs(a[0] - a[1])
    d = p["delta"]
    q = np.minimum(e, d)
    out = 0.5 * q * q + d * (e - q)
    return scaled(out, out + d * np.abs(a[0]) + d * np.abs(a[1])) if c["mode"] == "value" else out


def l2(a, p, c):
    out = 0.5 * (a[0] - a[1]) ** 2
    return scaled(out, out + np.abs(a[0] - a[1]) * (np.abs(a[0]) + np.abs(a[1]))) if c["mode"] == "value" else out


OPS = {
    "neg": lambda a, p, c: np.negative(a[0]),
    "abs": lambda a, p, c: np.abs(a[0]),
    "sign": lambda a, p, c: np.sign(a[0]),
    "exp": lambda a, p, c: np.exp(a[0]),
    "log": lambda a, p, c: np.log(a[0]),
    "log1p": lambda a, p, c: np.log1p(a[0]),
    "expm1": lambda a, p, c: np.expm1(a[0]),
    "sqrt": lambda a, p, c: np.sqrt(a[0]),
    "rsqrt": lambda a, p, c: 1 / np.sqrt(a[0]),
    "reciprocal": lambda a, p, c: np.reciprocal(a[0]),
    "sin": lambda a, p, c: trig(np.sin, a, c),
    "cos": lambda a, p, c: trig(np.cos, a, c),
    "tan": lambda a, p, c: trig(np.tan, a, c),
    "atan": lambda a, p, c: np.arctan(a[0]),
    "tanh": lambda a, p, c: np.tanh(a[0]),
    "atanh": lambda a, p, c: np.arctanh(a[0]),
    "sigmoid": lambda a, p, c: sigmoid(a[0]),
    "softplus": lambda a, p, c: np.logaddexp(0, a[0]),
    "logSigmoid": lambda a, p, c: -np.logaddexp(0, -np.asarray(a[0])),
    "erf": lambda a, p, c: erf(a[0]),
    "erfinv": lambda a, p, c: erfinv(a[0]),
    "floor": lambda a, p, c: np.floor(a[0]),
    "ceil": lambda a, p, c: np.ceil(a[0]),
    "round": lambda a, p, c: np.round(a[0]),
    "square": lambda a, p, c: np.square(a[0]),
    "relu": lambda a, p, c: np.maximum(a[0], 0),
    "logicalNot": lambda a, p, c: np.logical_not(a[0]),
    "isFinite": lambda a, p, c: np.isfinite(a[0]),
    "silu": silu,
    "gelu": gelu,
    "leakyRelu": lambda a, p, c: np.where(a[0] >= 0, a[0], a[0] * p["slope"]),
    "elu": lambda a, p, c: np.where(a[0] > 0, a[0], p["alpha"] * np.expm1(a[0])),
    "add": lambda a, p, c: np.add(*a),
    "sub": lambda a, p, c: np.subtract(*a),
    "mul": lambda a, p, c: np.multiply(*a),
    "div": div,
    "pow": lambda a, p, c: np.power(*a),
    "maximum": lambda a, p, c: np.maximum(*a),
    "minimum": lambda a, p, c: np.minimum(*a),
    "atan2": lambda a, p, c: np.arctan2(*a),
    "equal": lambda a, p, c: np.equal(*a),
    "notEqual": lambda a, p, c: np.not_equal(*a),
    "less": lambda a, p, c: np.less(*a),
    "lessEqual": lambda a, p, c: np.less_equal(*a),
    "greater": lambda a, p, c: np.greater(*a),
    "greaterEqual": lambda a, p, c: np.greater_equal(*a),
    "logicalAnd": lambda a, p, c: np.logical_and(*a),
    "logicalOr": lambda a, p, c: np.logical_or(*a),
    "logaddexp": lambda a, p, c: np.logaddexp(*a),
    "l2Loss": l2,
    "huberLoss": huber,
    "where": lambda a, p, c: np.where(np.asarray(a[0]).astype(bool), a[1], a[2]),
    "clip": lambda a, p, c: np.minimum(np.maximum(a[0], a[1]), a[2]),
    "cast": cast,
    "sum": summed(lambda a, p: np.sum(a[0], axis=ax(p), keepdims=p["keepdims"], dtype=p.get("_dtype"))),
    "prod": summed(lambda a, p: np.prod(a[0], axis=ax(p), keepdims=p["keepdims"], dtype=p.get("_dtype"))),
    "max": lambda a, p, c: np.max(a[0], axis=ax(p), keepdims=p["keepdims"]),
    "min": lambda a, p, c: np.min(a[0], axis=ax(p), keepdims=p["keepdims"]),
    "mean": summed(lambda a, p: np.mean(a[0], axis=ax(p), keepdims=p["keepdims"])),
    "variance": variance,
    "std": lambda a, p, c: (lambda r: r if c["mode"] == "natural" else scaled(np.sqrt(r["v"]), r["s"]))(variance(a, p, c)),
    "norm": norm,
    "logsumexp": lse,
    "argmax": lambda a, p, c: np.argmax(a[0], axis=p.get("axis"), keepdims=p["keepdims"]),
    "argmin": lambda a, p, c: np.argmin(a[0], axis=p.get("axis"), keepdims=p["keepdims"]),
    "cumsum": lambda a, p, c: (
        np.cumsum(a[0], axis=p["axis"], dtype=p.get("_dtype"))
        if c["mode"] == "natural" or a[0].dtype.kind != "f"
        else scaled(np.cumsum(a[0], axis=p["axis"]), a[0].shape[p["axis"]] * np.cumsum(np.abs(a[0]), axis=p["axis"]))
    ),
    "softmax": softmax,
    "logSoftmax": log_softmax,
    "reshape": lambda a, p, c: np.reshape(a[0], p["shape"]),
    "flatten": lambda a, p, c: np.ravel(a[0]),
    "transpose": lambda a, p, c: np.transpose(a[0], p.get("perm")),
    "swapAxes": lambda a, p, c: np.swapaxes(a[0], p["a"], p["b"]),
    "moveAxis": lambda a, p, c: np.moveaxis(a[0], p["a"], p["b"]),
    "expandDims": lambda a, p, c: np.expand_dims(a[0], ax(p, "axis")),
    "squeeze": lambda a, p, c: np.squeeze(a[0], ax(p, "axis")),
    "broadcastTo": lambda a, p, c: np.broadcast_to(a[0], p["shape"]),
    "slice": lambda a, p, c: np.asarray(a[0][tuple(slicer(s) for s in p["specs"])]),
    "flip": lambda a, p, c: np.flip(a[0], ax(p, "axis")),
    # np.pad refuses a 0-d array even with no widths; padding nothing is the array itself.
    "pad": lambda a, p, c: np.pad(a[0], p["widths"]) if a[0].ndim else a[0].copy(),
    "concat": lambda a, p, c: np.concatenate(a, axis=p["axis"]),
    "stack": lambda a, p, c: np.stack(a, axis=p["axis"]),
    "split": lambda a, p, c: np.split(a[0], p["sections"], axis=p["axis"]),
    "take": lambda a, p, c: np.take(a[0], a[1], axis=p["axis"]),
    "takeAlongAxis": lambda a, p, c: np.take_along_axis(a[0], a[1], axis=p["axis"]),
    "oneHot": lambda a, p, c: (np.asarray(a[0])[..., None] == np.arange(p["depth"])).astype(DTYPES[p["dtype"]]),
    "sort": lambda a, p, c: np.take_along_axis(a[0], argsort(a[0], p["axis"], p["descending"]), axis=p["axis"]),
    "argsort": lambda a, p, c: argsort(a[0], p["axis"], p["descending"]),
    "topk": lambda a, p, c: (
        lambda i: [np.take_along_axis(a[0], i, axis=p["axis"]), i]
    )(np.take(argsort(a[0], p["axis"], True), np.arange(p["k"]), axis=p["axis"])),
    "matmul": summed(lambda a, p: np.matmul(*a)),
    "dot": summed(lambda a, p: np.dot(*a)),
    "vecdot": summed(lambda a, p: np.sum(np.multiply(*a), axis=-1)),
    "outer": lambda a, p, c: np.outer(*a),
    "einsum": summed(lambda a, p: np.einsum(p["subscripts"], *a)),
    "tensordot": summed(lambda a, p: np.tensordot(*a, axes=p["axes"])),
    "arange": lambda a, p, c: (
        np.arange(p["start"], p["stop"], p["step"], dtype=DTYPES.get(p.get("dtype")))
        if c["mode"] == "natural"
        else np.arange(p["start"], p["stop"], p["step"], dtype=np.float64).astype(DTYPES[c["rule"]["out"][0]])
    ),
    "linspace": lambda a, p, c: np.linspace(p["start"], p["stop"], p["num"]).astype(DTYPES[p["dtype"]]),
    "eye": lambda a, p, c: np.eye(p["n"], p["m"], p["k"], dtype=DTYPES[p["dtype"]]),
    "full": lambda a, p, c: np.full(p["shape"], dec(p["value"]), dtype=DTYPES[p["dtype"]]),
}


COMPOSITES = {"rsqrt", "sigmoid", "softplus", "logSigmoid", "erf", "erfinv", "silu", "gelu", "leakyRelu", "elu", "logsumexp", "softmax", "logSoftmax", "norm", "l2Loss", "huberLoss"}


def run(case, mode):
    c = dict(case, mode=mode)
    rule = case["rule"]
    compute = rule.get("compute")
    p = dict(case["params"])
    if mode == "value" and case["op"] in ("sum", "prod", "cumsum") and rule["out"][0] != "float64" and compute != "float32":
        # Integers accumulate in mixrl's dtype (int32 wraps as it does), floats in float64.
        p["_dtype"] = DTYPES[rule["out"][0]]
    if mode == "natural":
        args = [raw_arg(a, case["oneD"]) for a in case["args"]]
    else:
        args = [cast_arg(a, compute, rule["ref64"]) for a in case["args"]]
    out = OPS[case["op"]](args, p, c)
    if mode == "natural" and case["op"] in COMPOSITES:
        # No NumPy function: the dtype a NumPy ufunc gives (float16 for bool, float64 for integers).
        out = np.asarray(out).astype(np.result_type(*[np.asarray(x).dtype for x in args], np.float16))
    outs = out if isinstance(out, list) else [out]
    return [{**encode(o["v"]), "s": encode(o["s"])["v"]} if isinstance(o, dict) else encode(o) for o in outs]


def attempt(case, mode):
    try:
        return {"outs": run(case, mode)}
    except Exception as e:  # NumPy's refusal is a result too
        return {"error": f"{type(e).__name__}: {e}"}


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    results = []
    for case in cases:
        natural = attempt(case, "natural")
        value = attempt(case, "value") if "refuse" not in case["rule"] else None
        results.append({"natural": natural, "value": value})
    print(json.dumps(results))


main()
