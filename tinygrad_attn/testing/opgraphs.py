"""Random composite expressions over an op table (hypothesis strategies), and the graphs' own structure.

An `OpGraph` is an expression tree over the inputs x0, x1, ...: call it on Tensors to build the
graph; `evaluate(..., untie=True, explicit_broadcast=True)` builds variants of it for the
graph-level properties (`testing.properties`); `kink_distance` says how close the inputs come to
a point where a non-smooth op has no derivative.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..tensor import Tensor
from .values import arrays, shapes, st

# ---- op graphs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphOp:
    """One entry of an op table.

    `arity` children; `child_shapes(draw, out_shape)` returns the children's shapes and the op's
    parameters for an output of `out_shape` (None when the op cannot make that shape);
    `apply(*children, **params)` runs it on Tensors; `fmt` renders it from the children's reprs;
    `kink(*children, **params)` (non-smooth ops) gives the distance of the inputs to the nearest
    point where the op is not differentiable; `broadcasts`: an elementwise op whose inputs numpy
    broadcasts to the output's shape.
    """

    name: str
    child_shapes: object
    apply: object
    fmt: object
    kink: object = None
    broadcasts: bool = False

    @property
    def smooth(self):
        return self.kink is None


def _same(draw, shape):
    return [shape], {}


def _unary(name, apply, kink=None, fmt=None, min_dims=0):
    def child_shapes(draw, shape):
        return None if len(shape) < min_dims else ([shape], {})

    return GraphOp(name, child_shapes, lambda x, **p: apply(x), fmt or (lambda c: f"{name}({c[0]})"), kink)


def _binary_shapes(draw, shape):
    """Two shapes that broadcast to exactly `shape` (some dims 1, some leading dims dropped)."""
    out = []
    for _ in range(2):
        lead = draw(st.integers(0, len(shape)))
        s = list(shape[lead:])
        for i in range(len(s)):
            if draw(st.booleans()):
                s[i] = 1
        out.append(tuple(s))
    if out[0] != shape and out[1] != shape:  # one side must carry the full shape
        out[draw(st.integers(0, 1))] = shape
    return out, {}


def _binary(name, apply, symbol=None, kink=None):
    fmt = (lambda c: f"({c[0]} {symbol} {c[1]})") if symbol else (lambda c: f"{name}({c[0]}, {c[1]})")
    return GraphOp(name, _binary_shapes, lambda a, b, **p: apply(a, b), fmt, kink, broadcasts=True)


def _reduce_shapes(draw, shape):
    """The input shape and (axis, keepdims) for a reduction that gives `shape`."""
    if shape == () and draw(st.booleans()):
        child = draw(shapes(max_dims=2, max_side=3))
        return [child], {"axis": None, "keepdims": False}
    keep = [i for i, n in enumerate(shape) if n == 1]
    if keep and draw(st.booleans()):
        ax = draw(st.sampled_from(keep))
        child = list(shape)
        child[ax] = draw(st.integers(1, 3))
        return [tuple(child)], {"axis": ax, "keepdims": True}
    if len(shape) >= 3:
        return None
    ax = draw(st.integers(0, len(shape)))
    child = shape[:ax] + (draw(st.integers(1, 3)),) + shape[ax:]
    return [child], {"axis": ax, "keepdims": False}


def _reduce(name, method, kink=None):
    def apply(x, axis=None, keepdims=False):
        return getattr(x, method)(axis=axis, keepdims=keepdims)

    def fmt(c, axis=None, keepdims=False):
        kd = ", keepdims=True" if keepdims else ""
        return f"{c[0]}.{method}(axis={axis}{kd})"

    return GraphOp(name, _reduce_shapes, apply, fmt, kink)


def _transpose_shapes(draw, shape):
    return None if len(shape) < 2 else ([shape[::-1]], {})


def _reshape_shapes(draw, shape):
    size = int(np.prod(shape, dtype=np.int64))
    if len(shape) == 1:
        return None if size == 1 else ([(1, size)], {"shape": shape})
    return [(size,)], {"shape": shape}


def _slice_shapes(draw, shape):
    if not shape:
        return None
    extra = draw(st.integers(1, 2))
    return [(shape[0] + extra,) + shape[1:]], {"start": extra}


def _gather_shapes(draw, shape):
    """x[idx] along axis 0 with an integer index array that may repeat rows (their grads add up)."""
    if not shape:
        return None
    rows = draw(st.integers(1, 3))
    idx = draw(st.lists(st.integers(0, rows - 1), min_size=shape[0], max_size=shape[0]))
    return [(rows,) + shape[1:]], {"idx": tuple(idx)}


def _matmul_shapes(draw, shape):
    if not shape:
        return None
    k = draw(st.integers(1, 3))
    if len(shape) == 1:
        return [(k,), (k, shape[0])], {}
    return [shape[:-1] + (k,), (k, shape[-1])], {}


def _concat_shapes(draw, shape):
    if not shape or shape[-1] < 2:
        return None
    cut = draw(st.integers(1, shape[-1] - 1))
    return [shape[:-1] + (cut,), shape[:-1] + (shape[-1] - cut,)], {"axis": -1}


def _stack_shapes(draw, shape):
    if not shape or shape[0] > 3:
        return None
    return [shape[1:]] * shape[0], {}


def _concat_apply(*xs, axis=-1):
    from .. import concat

    return concat(list(xs), axis=axis)


def _stack_apply(*xs):
    from .. import stack

    return stack(list(xs), axis=0)


def _abs_min(x):
    return float(np.abs(x.data).min()) if x.size else np.inf


def _gap_to_max(x, axis=None, keepdims=False):
    """Smallest gap between a reduced slice's maximum and its runner-up (0 at a tie: not smooth)."""
    a = x.data
    if a.ndim == 0:
        return np.inf
    axes = tuple(range(a.ndim)) if axis is None else tuple(k % a.ndim for k in np.atleast_1d(axis))
    kept = a.ndim - len(axes)
    moved = np.moveaxis(a, axes, tuple(range(kept, a.ndim)))
    flat = np.sort(moved.reshape(moved.shape[:kept] + (-1,)), axis=-1)
    if flat.shape[-1] < 2:
        return np.inf
    return float((flat[..., -1] - flat[..., -2]).min())


def _maximum_kink(a, b):
    return float(np.abs(a.data - b.data).min()) if np.broadcast(a.data, b.data).size else np.inf


def _clip_kink(x):
    return float(np.minimum(np.abs(x.data - 1.0), np.abs(x.data + 1.0)).min()) if x.size else np.inf


def _gather_apply(x, idx=()):
    return x[np.asarray(idx, dtype=np.int64)]


OP_TABLE = (
    _unary("neg", lambda x: -x, fmt=lambda c: f"(-{c[0]})"),
    _unary("exp", lambda x: x.exp()),
    _unary("tanh", lambda x: x.tanh()),
    _unary("sigmoid", lambda x: x.sigmoid()),
    # log and sqrt need a positive argument: the table feeds them x*x + 1 and says so in the repr
    _unary("log", lambda x: (x * x + 1.0).log(), fmt=lambda c: f"log({c[0]}**2 + 1)"),
    _unary("sqrt", lambda x: (x * x + 1.0).sqrt(), fmt=lambda c: f"sqrt({c[0]}**2 + 1)"),
    _unary("square", lambda x: x**2, fmt=lambda c: f"({c[0]} ** 2)"),
    _unary("softmax", lambda x: x.softmax(-1), fmt=lambda c: f"{c[0]}.softmax(-1)", min_dims=1),
    _unary("log_softmax", lambda x: x.log_softmax(-1), fmt=lambda c: f"{c[0]}.log_softmax(-1)", min_dims=1),
    _unary("relu", lambda x: x.relu(), kink=_abs_min),
    _unary("abs", lambda x: x.abs(), kink=_abs_min),
    _unary("clip", lambda x: x.clip(-1.0, 1.0), kink=_clip_kink, fmt=lambda c: f"{c[0]}.clip(-1, 1)"),
    _binary("add", lambda a, b: a + b, "+"),
    _binary("sub", lambda a, b: a - b, "-"),
    _binary("mul", lambda a, b: a * b, "*"),
    # a divisor must stay away from 0: b*b + 1 >= 1
    GraphOp(
        "div", _binary_shapes, lambda a, b: a / (b * b + 1.0), lambda c: f"({c[0]} / ({c[1]}**2 + 1))", broadcasts=True
    ),
    _binary("maximum", lambda a, b: a.maximum(b), kink=_maximum_kink),
    _reduce("sum", "sum"),
    _reduce("mean", "mean"),
    _reduce("logsumexp", "logsumexp"),
    _reduce("max", "max", kink=_gap_to_max),
    GraphOp("transpose", _transpose_shapes, lambda x: x.T, lambda c: f"{c[0]}.T"),
    GraphOp("reshape", _reshape_shapes, lambda x, shape: x.reshape(shape), lambda c, shape: f"{c[0]}.reshape{shape}"),
    GraphOp("slice", _slice_shapes, lambda x, start: x[start:], lambda c, start: f"{c[0]}[{start}:]"),
    GraphOp("gather", _gather_shapes, _gather_apply, lambda c, idx: f"{c[0]}[{list(idx)}]"),
    GraphOp("matmul", _matmul_shapes, lambda a, b: a @ b, lambda c: f"({c[0]} @ {c[1]})"),
    GraphOp("concat", _concat_shapes, _concat_apply, lambda c, axis: f"concat([{', '.join(c)}], axis={axis})"),
    GraphOp("stack", _stack_shapes, _stack_apply, lambda c: f"stack([{', '.join(c)}])"),
)
SMOOTH_OPS = tuple(op for op in OP_TABLE if op.smooth)


@dataclass(eq=False)
class _Leaf:
    index: int
    shape: tuple


@dataclass(eq=False)
class _Node:
    op: GraphOp
    children: list
    params: dict = field(default_factory=dict)


class OpGraph:
    """A drawn expression: call it on Tensors (one per input, in order) to build the graph.

    `root`: a node from `graph_node` / `graph_input`; `input_shapes` default to those of the inputs it uses.
    """

    def __init__(self, root, input_shapes=None):
        self.root = root
        if input_shapes is None:
            found = {n.index: n.shape for n in _walk(root) if isinstance(n, _Leaf)}
            input_shapes = [found[i] for i in range(len(found))]
        self.input_shapes = tuple(input_shapes)

    @property
    def n_inputs(self):
        return len(self.input_shapes)

    @property
    def ops(self):
        """Names of the ops in the graph, root first."""
        return [n.op.name for n in _walk(self.root) if isinstance(n, _Node)]

    def uses(self):
        """How many times each input is used: a list of ints, one per input (> 1 where it fans out)."""
        counts = [0] * self.n_inputs
        for n in _walk(self.root):
            if isinstance(n, _Leaf):
                counts[n.index] += 1
        return counts

    def __len__(self):
        return len(self.ops)

    def __call__(self, *xs):
        return self.evaluate(*xs)[0]

    def evaluate(self, *xs, untie=False, explicit_broadcast=False):
        """Build the graph on Tensors `xs`: (output, uses), uses a list of (input index, leaf Tensor) per use.

        untie: every use of an input gets its own copy (a new leaf with the same values), so no
        input fans out. explicit_broadcast: before a broadcasting op, each operand is written out
        to the output's shape (reshape, then concat of copies), so numpy broadcasts nothing.
        """
        if len(xs) != self.n_inputs:
            raise TypeError(f"OpGraph: takes {self.n_inputs} inputs {self.input_shapes}, got {len(xs)}")
        for i, (x, s) in enumerate(zip(xs, self.input_shapes)):
            if tuple(x.shape) != s:
                raise ValueError(f"OpGraph: input {i} of shape {tuple(x.shape)} where the graph takes {s}")
        uses = []

        def leaf(i):
            x = xs[i]
            if untie:
                x = Tensor(x.data.copy(), requires_grad=x.requires_grad)
            uses.append((i, x))
            return x

        return self._eval(self.root, leaf, None, explicit_broadcast), uses

    def kink_distance(self, *xs):
        """How close any non-smooth op's input comes to its kink (inf if the graph is smooth)."""
        dist = [np.inf]
        from ..autograd import no_grad

        ts = [x if isinstance(x, Tensor) else Tensor(x) for x in xs]
        with no_grad():
            self._eval(self.root, ts.__getitem__, dist, False)
        return min(dist)

    def _eval(self, node, leaf, dist, expand):
        if isinstance(node, _Leaf):
            return leaf(node.index)
        args = [self._eval(c, leaf, dist, expand) for c in node.children]
        if dist is not None and node.op.kink is not None:
            dist.append(node.op.kink(*args, **node.params))
        if expand and node.op.broadcasts:
            shape = np.broadcast_shapes(*[a.shape for a in args])
            args = [_write_out(a, shape) for a in args]
        return node.op.apply(*args, **node.params)

    def inputs(self, domain="unit", dtype=np.float64):
        """A strategy of input tuples (float64 arrays) for this graph."""
        return st.tuples(*[arrays(s, domain=domain, dtype=dtype) for s in self.input_shapes])

    def _repr(self, node):
        if isinstance(node, _Leaf):
            return f"x{node.index}"
        return node.op.fmt([self._repr(c) for c in node.children], **node.params)

    def __repr__(self):
        shapes_ = ", ".join(f"x{i}: {s}" for i, s in enumerate(self.input_shapes))
        return f"<OpGraph {self._repr(self.root)} where {shapes_}>"

    def expression(self):
        """The expression alone, e.g. `tanh((x0 + x1))`."""
        return self._repr(self.root)


def _walk(root):
    """The nodes and leaves under `root`, root first (breadth first)."""
    out, queue = [], [root]
    while queue:
        n = queue.pop(0)
        out.append(n)
        if isinstance(n, _Node):
            queue.extend(n.children)
    return out


def _write_out(t, shape):
    """`t` broadcast to `shape` without numpy's help: leading 1s by reshape, then copies joined by concat."""
    from .. import concat

    if t.shape == shape:
        return t
    t = t.reshape((1,) * (len(shape) - t.ndim) + t.shape)
    for axis, n in enumerate(shape):
        if t.shape[axis] == 1 and n > 1:
            t = concat([t] * n, axis=axis)
    return t


def graph_input(index, shape):
    """Input `index` of shape `shape`, for building an OpGraph by hand (use it twice to fan it out)."""
    return _Leaf(index, tuple(shape))


def graph_node(op, *children, **params):
    """An op applied to children (graph_input / graph_node results); `op` a GraphOp or a name in OP_TABLE."""
    return _Node(op_named(op) if isinstance(op, str) else op, list(children), params)


def unary_op(name, apply, kink=None):
    """A GraphOp for your own elementwise op, `apply(x)` of x's shape (e.g. `unary_op("softplus", Softplus.apply)`)."""
    return _unary(name, apply, kink)


def binary_op(name, apply, kink=None):
    """A GraphOp for your own elementwise op of two inputs that numpy broadcasts: `apply(a, b)`."""
    return _binary(name, apply, kink=kink)


def op_named(name):
    """The GraphOp called `name` in OP_TABLE."""
    for op in OP_TABLE:
        if op.name == name:
            return op
    raise KeyError(f"op_named: no op {name!r} in OP_TABLE; choose from {[op.name for op in OP_TABLE]}")


@st.composite
def op_graphs(draw, ops=OP_TABLE, max_depth=3, out_shape=None, reuse_inputs=True):
    """Random composite expressions over `ops` (a table of GraphOp) with shapes that fit.

    Built top-down from the output shape (`out_shape` or drawn): the root is an op; below it the
    first choice, and the one hypothesis shrinks towards, is a plain input, so failures shrink to
    small graphs. (An op that cannot make the wanted shape also becomes an input.)
    An input of a shape already used may be reused (fan-out: its gradients accumulate).
    """
    shape = tuple(out_shape) if out_shape is not None else draw(shapes(max_dims=3, max_side=3))
    input_shapes = []

    def leaf(s):
        same = [i for i, t in enumerate(input_shapes) if t == s]
        if reuse_inputs and same and draw(st.booleans()):
            return _Leaf(draw(st.sampled_from(same)), s)
        input_shapes.append(s)
        return _Leaf(len(input_shapes) - 1, s)

    def build(s, depth):
        if depth == 0:
            return leaf(s)
        # the root is always an op (a bare input tests nothing); below it, 0 means "an input"
        root = depth == max_depth
        choice = draw(st.integers(1 if root else 0, len(ops)))
        if choice == 0:
            return leaf(s)
        # an op that cannot make shape `s` gives way: to an input below the root, to the next op at it
        for k in range(len(ops) if root else 1):
            op = ops[(choice - 1 + k) % len(ops)]
            made = op.child_shapes(draw, s)
            if made is not None:
                break
        if made is None:
            return leaf(s)
        child_shapes, params = made
        return _Node(op, [build(tuple(c), depth - 1) for c in child_shapes], params)

    root = build(shape, max_depth)
    return OpGraph(root, input_shapes)


def _well_behaved(case, kink_margin, max_abs):
    g, xs = case
    if g.kink_distance(*xs) <= kink_margin:
        return False
    with np.errstate(all="ignore"):
        y = g(*[Tensor(x) for x in xs]).data
    return bool(np.isfinite(y).all() and np.abs(y).max(initial=0.0) < max_abs)


def graph_cases(ops=OP_TABLE, max_depth=3, domain="unit", kink_margin=1e-3, max_abs=1e4):
    """Pairs (OpGraph, inputs) whose inputs keep `kink_margin` away from every kink and give finite outputs < max_abs.

    Finite differences across a kink (relu, abs, max at a tie, clip at its bounds) measure the
    wrong slope; this keeps every non-smooth op's input outside the margin.
    """
    cases = op_graphs(ops=ops, max_depth=max_depth).flatmap(lambda g: g.inputs(domain).map(lambda xs: (g, xs)))
    return cases.filter(lambda case: _well_behaved(case, kink_margin, max_abs))
