"""The conv tile over a whole kernel window, written as explicit LLVM vector code.

window_tile(xf, rowoff, nrows, pos, wf, wofs, nj, seg, acc) adds to acc[i * 4 + j] (a flat 4 x 4
uint64 array) the AND + popcount of output position i and weight row j over every row r of
the window:

    sum over r < nrows, k < seg of popcount(xf[rowoff[r] + pos[i] + k] & wf[wofs[j] + r * seg + k])

for i < 4 and j < nj (nj = 1..4 weight rows; the others are left alone). A window row is one
(channel, dy) kernel row of seg words (kw inputs side by side, or kw x C with channels
innermost), so a 3 x 3 conv over 16 channels in HWC order is 3 rows of 3 x 16 x L/64 words.

Why one kernel over the window: numba's tile (dot.tile4x4) keeps its 16 counters in vector
registers only within one call, so every row ended in 16 horizontal sums plus the slicing and
counter traffic of a call, about a third of the work at L = 64-256. Here the counters stay
<8 x i64> vectors across all rows and are summed once. Words past a row's last multiple of 8
are read with masked loads (zeros beyond), so any seg works.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["window_tile"]

_I64 = ir.IntType(64)
_V8 = ir.VectorType(_I64, 8)


def _intrinsic_fn(builder: ir.IRBuilder, name: str, ret: ir.Type, args: list) -> ir.Function:
    return cgutils.get_or_insert_function(builder.module, ir.FunctionType(ret, args), name)


def _load8(builder: ir.IRBuilder, base: ir.Value, idx: ir.Value, mask: ir.Value | None) -> ir.Value:
    """<8 x i64> at base[idx]: a plain load, or a masked one (lanes off: 0)."""
    ptr = builder.bitcast(builder.gep(base, [idx]), _V8.as_pointer())
    if mask is None:
        return builder.load(ptr, align=8)
    fn = _intrinsic_fn(builder, "llvm.masked.load.v8i64.p0v8i64", _V8,
                       [_V8.as_pointer(), ir.IntType(32), ir.VectorType(ir.IntType(1), 8), _V8])
    return builder.call(fn, [ptr, ir.Constant(ir.IntType(32), 8), mask, ir.Constant(_V8, [0] * 8)])


def _products(builder: ir.IRBuilder, accs: list, xf, wf, xr: list, wr: list, k: ir.Value, mask) -> None:
    """accs[i][j] += ctpop(x_i & w_j) over words k..k+7 (masked ones)."""
    ctpop = _intrinsic_fn(builder, "llvm.ctpop.v8i64", _V8, [_V8])
    xs = [_load8(builder, xf, builder.add(o, k), mask) for o in xr]
    ws = [_load8(builder, wf, builder.add(o, k), mask) for o in wr]
    for i, x in enumerate(xs):
        for j, w in enumerate(ws):
            ptr = accs[i][j]
            builder.store(builder.add(builder.load(ptr), builder.call(ctpop, [builder.and_(x, w)])), ptr)


def _counted_loop(builder: ir.IRBuilder, start: ir.Value, stop: ir.Value, step: int, name: str):
    """Open `for v in range(start, stop, step)`; returns (v, close) where close() ends the body."""
    fn = builder.function
    ptr = cgutils.alloca_once_value(builder, start)
    cond, body, done = (fn.append_basic_block(f"{name}_{s}") for s in ("cond", "body", "done"))
    builder.store(start, ptr)
    builder.branch(cond)
    builder.position_at_end(cond)
    v = builder.load(ptr)
    builder.cbranch(builder.icmp_signed("<", v, stop), body, done)
    builder.position_at_end(body)

    def close() -> None:
        builder.store(builder.add(v, ir.Constant(_I64, step)), ptr)
        builder.branch(cond)
        builder.position_at_end(done)
    return v, close


def _window(builder: ir.IRBuilder, nj: int, xf, rowoff, nrows, pos: list, wf, wofs: list, seg, acc) -> None:
    """The window for nj weight rows: 4 x nj vector counters, rows then 8-word chunks."""
    zero = ir.Constant(_I64, 0)
    accs = [[cgutils.alloca_once_value(builder, ir.Constant(_V8, [0] * 8)) for _ in range(nj)] for _ in range(4)]
    full = builder.and_(seg, ir.Constant(_I64, -8))
    rem = builder.sub(seg, full)
    lanes = ir.Constant(_V8, list(range(8)))
    rem_v = ir.Constant(_V8, ir.Undefined)
    for lane in range(8):
        rem_v = builder.insert_element(rem_v, rem, ir.Constant(ir.IntType(32), lane))
    mask = builder.icmp_signed("<", lanes, rem_v)
    r, close_rows = _counted_loop(builder, zero, nrows, 1, f"win{nj}_rows")
    ro = builder.load(builder.gep(rowoff, [r]))
    xr = [builder.add(ro, p) for p in pos]
    wr = [builder.add(w, builder.mul(r, seg)) for w in wofs[:nj]]
    k, close_words = _counted_loop(builder, zero, full, 8, f"win{nj}_words")
    _products(builder, accs, xf, wf, xr, wr, k, None)
    close_words()
    with builder.if_then(builder.icmp_signed(">", rem, zero)):
        _products(builder, accs, xf, wf, xr, wr, full, mask)
    close_rows()
    reduce = _intrinsic_fn(builder, "llvm.vector.reduce.add.v8i64", _I64, [_V8])
    for i in range(4):
        for j in range(nj):
            slot = builder.gep(acc, [ir.Constant(_I64, i * 4 + j)])
            builder.store(builder.add(builder.load(slot), builder.call(reduce, [builder.load(accs[i][j])])), slot)


def _window_codegen(context, builder, signature, args):
    arrays = [context.make_array(signature.args[i])(context, builder, args[i]).data for i in (0, 1, 3, 4, 5, 8)]
    xf, rowoff, pos_a, wf, wofs_a, acc = arrays
    nrows, nj, seg = args[2], args[6], args[7]
    pos = [builder.load(builder.gep(pos_a, [ir.Constant(_I64, i)])) for i in range(4)]
    wofs = [builder.load(builder.gep(wofs_a, [ir.Constant(_I64, j)])) for j in range(4)]
    fn = builder.function
    exit_bb = fn.append_basic_block("win_exit")
    cases = {n: fn.append_basic_block(f"win_nj{n}") for n in (1, 2, 3, 4)}
    sw = builder.switch(nj, exit_bb)
    for n, bb in cases.items():
        sw.add_case(ir.Constant(_I64, n), bb)
    for n, bb in cases.items():
        builder.position_at_end(bb)
        _window(builder, n, xf, rowoff, nrows, pos, wf, wofs, seg, acc)
        builder.branch(exit_bb)
    builder.position_at_end(exit_bb)
    return context.get_dummy_value()


@intrinsic
def window_tile(typingctx, xf, rowoff, nrows, pos, wf, wofs, nj, seg, acc):
    """window_tile(xf, rowoff, nrows, pos, wf, wofs, nj, seg, acc): see the module doc. xf, wf
    and acc: C-contiguous 1-D uint64 arrays (acc holds 16); rowoff (nrows), pos (4) and wofs (4):
    1-D int64 arrays of word offsets; nrows, nj (1..4; another writes nothing) and seg: integers.
    No bounds are checked: the caller's offsets must keep every read inside xf and wf."""
    for a, dt in ((xf, types.uint64), (rowoff, types.int64), (pos, types.int64), (wf, types.uint64),
                  (wofs, types.int64), (acc, types.uint64)):
        if not (isinstance(a, types.Array) and a.ndim == 1 and a.layout == "C" and a.dtype == dt):
            return None
    if not all(isinstance(v, types.Integer) for v in (nrows, nj, seg)):
        return None
    sig = types.void(xf, rowoff, types.int64, pos, wf, wofs, types.int64, types.int64, acc)
    return sig, _window_codegen
