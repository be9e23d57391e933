"""The bit-sliced SNG comparator over whole words, written as explicit LLVM vector code.

compare_words(pf, base, t, width, nw, df, o, tail) writes df[o:o + nw] = the packed stream
(r_k < t) of one SNG source, whose random numbers r_k are stored as `width` bit-planes of nw
words (plane j, bit j of every r_k, at pf[base + j * nw]), and returns its popcount; the
comparator runs from the MSB plane down:

    l |= q & ~p_j & m_j;  q &= ~(p_j ^ m_j)      (m_j all ones where t has bit j)

with l = all ones and q = none at the start when t = 2^width (bit `width` of every r is 0),
so no branch depends on t. The words go 8, then 4, then 1 at a time in <n x i64> vectors.
compare_images does the same for up to 8 images of one source, its operands addressed by
start and step: streams of 1, 2 or 4 words pack 8, 4 or 2 images into one <8 x i64>, and all
of a call's vectors run as independent chains in one plane loop; streams of 8k words run
WIDE_IMAGES images' chains together, 8 words at a time.

Why IR: the same loop written in numba ran scalar and 3-5x slower. The running state (l, q)
must stay in registers across the plane loop, with a plane count known only at run time;
LLVM's loop vectoriser does not do that for state kept in arrays, and its SLP vectoriser did
not pack scalar chains. Both mask a stream's last word to the stream length by `tail`
(planes hold zeros past it, and 0 < t would set those bits).
"""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["compare_words", "compare_images", "vector_words"]

_I64 = ir.IntType(64)


def _splat(builder: ir.IRBuilder, value: ir.Value, n: int) -> ir.Value:
    vec = ir.Constant(ir.VectorType(_I64, n), ir.Undefined)
    for i in range(n):
        vec = builder.insert_element(vec, value, ir.Constant(ir.IntType(32), i))
    return vec


def _chunks(builder: ir.IRBuilder, n: int, pf: ir.Value, df: ir.Value, base: ir.Value, t: ir.Value,
            width: ir.Value, nw: ir.Value, o: ir.Value, k_ptr: ir.Value, cnt_ptr: ir.Value) -> None:
    """Emit: while k + n <= nw, the comparator on words k..k+n-1 in one <n x i64>; k += n."""
    vt = ir.VectorType(_I64, n)
    fn = builder.function
    cond, body, out = (fn.append_basic_block(f"w{n}_{s}") for s in ("cond", "body", "out"))
    builder.branch(cond)
    builder.position_at_end(cond)
    k = builder.load(k_ptr)
    builder.cbranch(builder.icmp_signed("<=", builder.add(k, ir.Constant(_I64, n)), nw), body, out)

    builder.position_at_end(body)
    lv, = _plane_loop(builder, width, [_splat(builder, t, n)], lambda b, j: b.load(
        b.bitcast(b.gep(pf, [b.add(b.add(base, b.mul(j, nw)), k)]), vt.as_pointer()), align=8))
    builder.store(lv, builder.bitcast(builder.gep(df, [builder.add(o, k)]), vt.as_pointer()), align=8)
    builder.store(builder.add(builder.load(cnt_ptr), _lane_sum(builder, _ctpop(builder, lv), range(n))), cnt_ptr)
    builder.store(builder.add(k, ir.Constant(_I64, n)), k_ptr)
    builder.branch(cond)
    builder.position_at_end(out)


def _ctpop(builder: ir.IRBuilder, v: ir.Value) -> ir.Value:
    name = f"llvm.ctpop.v{v.type.count}i64" if isinstance(v.type, ir.VectorType) else "llvm.ctpop.i64"
    return builder.call(cgutils.get_or_insert_function(builder.module, ir.FunctionType(v.type, [v.type]), name), [v])


@intrinsic
def compare_words(typingctx, pf, base, t, width, nw, df, o, tail):
    """compare_words(pf, base, t, width, nw, df, o, tail) -> uint64 popcount; see the module
    doc. The stream's last word is masked by `tail` (the planes hold zeros past the stream, and
    r = 0 < t would set those bits). pf and df: C-contiguous uint64 arrays; the others integers."""
    arrays = (pf, df)
    if not all(isinstance(a, types.Array) and a.dtype == types.uint64 and a.layout == "C" for a in arrays):
        return None
    if not all(isinstance(v, types.Integer) for v in (base, t, width, nw, o, tail)):
        return None
    sig = types.uint64(pf, types.int64, types.int64, types.int64, types.int64, df, types.int64, types.uint64)

    def codegen(context, builder, signature, args):
        pfa = context.make_array(signature.args[0])(context, builder, args[0])
        dfa = context.make_array(signature.args[5])(context, builder, args[5])
        base_v, t_v, width_v, nw_v, o_v = (args[i] for i in (1, 2, 3, 4, 6))
        k_ptr = cgutils.alloca_once_value(builder, ir.Constant(_I64, 0))
        cnt_ptr = cgutils.alloca_once_value(builder, ir.Constant(_I64, 0))
        for n in (8, 4, 1):
            _chunks(builder, n, pfa.data, dfa.data, base_v, t_v, width_v, nw_v, o_v, k_ptr, cnt_ptr)
        last = builder.gep(dfa.data, [builder.sub(builder.add(o_v, nw_v), ir.Constant(_I64, 1))])
        word = builder.load(last)
        kept = builder.and_(word, args[7])
        builder.store(kept, last)
        return builder.add(builder.sub(builder.load(cnt_ptr), _ctpop(builder, word)), _ctpop(builder, kept))

    return sig, codegen


class _Strided:
    """Codegen view of compare_images' operands: image i's threshold tf[t0 + i * t_step]
    (clamped to 0..2^width; images past n read image 0's and store nothing), its stream at
    df[d0 + i * d_step], its popcount to pcf[p0 + i * p_step] in pcf's dtype."""

    def __init__(self, builder: ir.IRBuilder, context, signature, args) -> None:
        arr = [context.make_array(signature.args[i])(context, builder, args[i]).data for i in (0, 2, 8, 11)]
        self.pf, self.tf, self.df, self.pcf = arr
        (self.base, self.t0, self.t_step, self.n, self.width, self.nw, self.d0, self.d_step, self.p0,
         self.p_step, self.tail) = (args[i] for i in (1, 3, 4, 5, 6, 7, 9, 10, 12, 13, 14))
        self.count_type = context.get_value_type(signature.args[11].dtype)
        self.float_counts = isinstance(signature.args[11].dtype, types.Float)
        self.builder = builder

    def live(self, i: ir.Value) -> ir.Value:
        return self.builder.icmp_signed("<", i, self.n)

    def threshold(self, i: ir.Value) -> ir.Value:
        b = self.builder
        zero = ir.Constant(_I64, 0)
        idx = b.add(self.t0, b.mul(b.select(self.live(i), i, zero), self.t_step))
        t = b.load(b.gep(self.tf, [idx]))
        top = b.shl(ir.Constant(_I64, 1), self.width)
        t = b.select(b.icmp_signed("<", t, zero), zero, t)
        return b.select(b.icmp_signed(">", t, top), top, t)

    def dest(self, i: ir.Value) -> ir.Value:
        return self.builder.add(self.d0, self.builder.mul(i, self.d_step))

    def store_count(self, i: ir.Value, count: ir.Value) -> None:
        b = self.builder
        value = b.uitofp(count, self.count_type) if self.float_counts else count
        b.store(value, b.gep(self.pcf, [b.add(self.p0, b.mul(i, self.p_step))]))


def _lane_thresholds(op: _Strided, words: int, first: int) -> ir.Value:
    """<8 x i64> of each lane's threshold for images first, first + 1, ... packed `words` lanes each."""
    b = op.builder
    vec = ir.Constant(ir.VectorType(_I64, 8), ir.Undefined)
    values = [op.threshold(ir.Constant(_I64, first + k)) for k in range(8 // words)]
    for lane in range(8):
        vec = b.insert_element(vec, values[lane // words], ir.Constant(ir.IntType(32), lane))
    return vec


def _plane_loop(builder: ir.IRBuilder, width: ir.Value, tvs: list, load_plane) -> list:
    """Emit the comparator's plane loop for len(tvs) independent chains that share each plane:
    tvs are <n x i64> thresholds per lane, load_plane(builder, j) gives plane j's <n x i64>.
    One chain alone is a string of dependent steps (about 3 cycles each); several overlap.
    Returns each chain's stream words (l)."""
    fn = builder.function
    vt = tvs[0].type
    lanes = vt.count
    one, zero = ir.Constant(_I64, 1), ir.Constant(_I64, 0)
    s63 = _splat(builder, ir.Constant(_I64, 63), lanes)
    starts = []
    for tv in tvs:  # bit `width` of t set (t = 2^width): every r is below it, l starts all ones
        top = builder.sub(_splat(builder, zero, lanes), builder.and_(builder.lshr(tv, _splat(builder, width, lanes)),
                                                                     _splat(builder, one, lanes)))
        starts.append((top, builder.not_(top)))
    j0 = builder.sub(width, one)
    start = builder.block
    planes, plane, done = (fn.append_basic_block(f"cmp_{s}") for s in ("planes", "plane", "done"))
    builder.branch(planes)

    builder.position_at_end(planes)
    j = builder.phi(_I64)
    j.add_incoming(j0, start)
    chains = []
    for l0, q0 in starts:
        lv, qv = builder.phi(vt), builder.phi(vt)
        lv.add_incoming(l0, start)
        qv.add_incoming(q0, start)
        chains.append((lv, qv))
    builder.cbranch(builder.icmp_signed("<", j, zero), done, plane)

    builder.position_at_end(plane)
    p = load_plane(builder, j)
    up = _splat(builder, builder.sub(ir.Constant(_I64, 63), j), lanes)
    for tv, (lv, qv) in zip(tvs, chains):
        m = builder.ashr(builder.shl(tv, up), s63)  # all ones in lanes whose threshold has bit j
        lv.add_incoming(builder.or_(lv, builder.and_(builder.and_(qv, builder.not_(p)), m)), plane)
        qv.add_incoming(builder.and_(qv, builder.not_(builder.xor(p, m))), plane)
    j.add_incoming(builder.sub(j, one), plane)
    builder.branch(planes)
    builder.position_at_end(done)
    return [lv for lv, _ in chains]


def _lane_sum(builder: ir.IRBuilder, v: ir.Value, lanes: range) -> ir.Value:
    total = ir.Constant(_I64, 0)
    for lane in lanes:
        total = builder.add(total, builder.extract_element(v, ir.Constant(ir.IntType(32), lane)))
    return total


def _narrow_codegen(op: _Strided, words: int) -> None:
    """nw = words (1, 2 or 4): 8 // words images per <8 x i64>, all 8 images' vectors (words
    chains) in one plane loop; images past n are computed on image 0's threshold, not stored."""
    builder = op.builder
    per = 8 // words
    vt = ir.VectorType(_I64, words)
    mask = ir.Constant(ir.VectorType(ir.IntType(32), 8), [lane % words for lane in range(8)])

    def load_plane(b: ir.IRBuilder, j: ir.Value) -> ir.Value:
        row = b.load(b.bitcast(b.gep(op.pf, [b.add(op.base, b.mul(j, op.nw))]), vt.as_pointer()), align=8)
        return b.shuffle_vector(row, row, mask)  # the plane's words repeated for every image

    tvs = [_lane_thresholds(op, words, g * per) for g in range(words)]
    outs = _plane_loop(builder, op.width, tvs, load_plane)
    last = ir.Constant(ir.VectorType(_I64, 8), [0] * 8)
    for lane in range(8):
        last = builder.insert_element(last, op.tail if lane % words == words - 1 else ir.Constant(_I64, -1),
                                      ir.Constant(ir.IntType(32), lane))
    for g, lv in enumerate(outs):
        out = builder.and_(lv, last)
        counts = _ctpop(builder, out)
        for k in range(per):
            image = ir.Constant(_I64, g * per + k)
            with builder.if_then(op.live(image)):
                dst = builder.gep(op.df, [op.dest(image)])
                if words == 1:
                    builder.store(builder.extract_element(out, ir.Constant(ir.IntType(32), k)), dst)
                else:
                    part = builder.shuffle_vector(out, out, ir.Constant(ir.VectorType(ir.IntType(32), words),
                                                                        list(range(k * words, (k + 1) * words))))
                    builder.store(part, builder.bitcast(dst, vt.as_pointer()), align=8)
                op.store_count(image, _lane_sum(builder, counts, range(k * words, (k + 1) * words)))


WIDE_IMAGES = 4  # images whose comparators share one plane loop on long streams (nw a multiple of 8)


def _wide_codegen(op: _Strided) -> None:
    """nw a multiple of 8: images WIDE_IMAGES at a time, each group over the stream's 8-word
    chunks in one plane loop; popcounts summed per image; last words masked by tail."""
    builder = op.builder
    fn = builder.function
    zero, eight = ir.Constant(_I64, 0), ir.Constant(_I64, 8)
    v8 = ir.VectorType(_I64, 8)
    g_ptr = cgutils.alloca_once_value(builder, zero)
    k_ptr = cgutils.alloca_once_value(builder, zero)
    cnt_ptrs = [cgutils.alloca_once_value(builder, ir.Constant(v8, [0] * 8)) for _ in range(WIDE_IMAGES)]
    g_cond, g_body, k_cond, k_body, g_end, exit_bb = (fn.append_basic_block(f"wide_{s}") for s in
                                                      ("gcond", "gbody", "kcond", "kbody", "gend", "exit"))
    builder.branch(g_cond)
    builder.position_at_end(g_cond)
    g = builder.load(g_ptr)
    builder.cbranch(builder.icmp_signed("<", g, op.n), g_body, exit_bb)

    builder.position_at_end(g_body)
    images = [builder.add(g, ir.Constant(_I64, i)) for i in range(WIDE_IMAGES)]
    live = [op.live(i) for i in images]
    tvs = [_splat(builder, op.threshold(i), 8) for i in images]
    dsts = [op.dest(builder.select(ok, i, zero)) for ok, i in zip(live, images)]
    for ptr in cnt_ptrs:
        builder.store(ir.Constant(v8, [0] * 8), ptr)
    builder.store(zero, k_ptr)
    builder.branch(k_cond)

    builder.position_at_end(k_cond)
    k = builder.load(k_ptr)
    builder.cbranch(builder.icmp_signed("<", k, op.nw), k_body, g_end)

    builder.position_at_end(k_body)
    words = _plane_loop(builder, op.width, tvs, lambda b, j: b.load(
        b.bitcast(b.gep(op.pf, [b.add(b.add(op.base, b.mul(j, op.nw)), k)]), v8.as_pointer()), align=8))
    for ok, dst, lv, ptr in zip(live, dsts, words, cnt_ptrs):
        with builder.if_then(ok):
            builder.store(lv, builder.bitcast(builder.gep(op.df, [builder.add(dst, k)]), v8.as_pointer()), align=8)
            builder.store(builder.add(builder.load(ptr), _ctpop(builder, lv)), ptr)
    builder.store(builder.add(k, eight), k_ptr)
    builder.branch(k_cond)

    builder.position_at_end(g_end)
    for ok, i, dst, ptr in zip(live, images, dsts, cnt_ptrs):
        with builder.if_then(ok):
            last = builder.gep(op.df, [builder.sub(builder.add(dst, op.nw), ir.Constant(_I64, 1))])
            word = builder.load(last)
            kept = builder.and_(word, op.tail)
            builder.store(kept, last)
            total = _lane_sum(builder, builder.load(ptr), range(8))
            op.store_count(i, builder.add(builder.sub(total, _ctpop(builder, word)), _ctpop(builder, kept)))
    builder.store(builder.add(g, ir.Constant(_I64, WIDE_IMAGES)), g_ptr)
    builder.branch(g_cond)
    builder.position_at_end(exit_bb)


def _images_codegen(context, builder, signature, args):
    """IR of compare_images: a switch on nw to the narrow (1, 2, 4 words) or wide (8k words) code."""
    op = _Strided(builder, context, signature, args)
    fn = builder.function
    zero = ir.Constant(_I64, 0)
    exit_bb, wide_bb, narrow_bb = (fn.append_basic_block(f"img_{s}") for s in ("exit", "wide", "narrow"))
    multiple = builder.icmp_signed("==", builder.and_(op.nw, ir.Constant(_I64, 7)), zero)
    wide = builder.and_(multiple, builder.icmp_signed(">", op.nw, zero))
    builder.cbranch(builder.and_(wide, builder.icmp_signed(">", op.n, zero)), wide_bb, narrow_bb)
    builder.position_at_end(wide_bb)
    _wide_codegen(op)
    builder.branch(exit_bb)
    builder.position_at_end(narrow_bb)
    cases = {words: fn.append_basic_block(f"img_w{words}") for words in (1, 2, 4)}
    sw = builder.switch(builder.select(builder.icmp_signed(">", op.n, zero), op.nw, zero), exit_bb)
    for words, bb in cases.items():
        sw.add_case(ir.Constant(_I64, words), bb)
    for words, bb in cases.items():
        builder.position_at_end(bb)
        _narrow_codegen(op, words)
        builder.branch(exit_bb)
    builder.position_at_end(exit_bb)
    return context.get_dummy_value()


@njit(inline="always", cache=True)
def vector_words(nw):
    """Whether compare_images takes streams of nw words: 1, 2, 4 or a multiple of 8 (else a
    caller goes image by image through compare_words)."""
    return nw == 1 or nw == 2 or nw == 4 or nw % 8 == 0


@intrinsic
def compare_images(typingctx, pf, base, tf, t0, t_step, n, width, nw, df, d0, d_step, pcf, p0, p_step, tail):
    """compare_images(pf, base, tf, t0, t_step, n, width, nw, df, d0, d_step, pcf, p0, p_step,
    tail): the streams of n <= 8 images against ONE source's planes at pf[base]: image i's
    threshold is tf[t0 + i * t_step] (clamped to 0..2^width, as encode does), its stream goes to
    df[d0 + i * d_step:... + nw] with the last word masked by `tail`, its popcount to
    pcf[p0 + i * p_step] (pcf: uint64, float32 or float64). Operands are addressed by start and
    step, so a caller hands over rows of its own arrays with no per-image bookkeeping.
    nw = 1, 2 or 4: 8 // nw images share a <8 x i64> (the planes broadcast, the thresholds per
    lane), all of them in one plane loop; nw a multiple of 8: WIDE_IMAGES images' comparators
    in one plane loop, 8 words at a time, each plane loaded once for all (one image alone is a
    chain of dependent steps, about 3 cycles each; several chains overlap). Another nw, or
    n < 1, writes nothing (the caller uses compare_words). No bounds are checked."""
    arrays = (pf, tf, df, pcf)
    if not all(isinstance(a, types.Array) and a.layout == "C" and a.ndim == 1 for a in arrays):
        return None
    if pf.dtype != types.uint64 or df.dtype != types.uint64 or tf.dtype != types.int64 \
            or pcf.dtype not in (types.uint64, types.float32, types.float64):
        return None
    ints = (base, t0, t_step, n, width, nw, d0, d_step, p0, p_step, tail)
    if not all(isinstance(v, types.Integer) for v in ints):
        return None
    i64 = types.int64
    sig = types.void(pf, i64, tf, i64, i64, i64, i64, i64, df, i64, i64, pcf, i64, i64, types.uint64)
    return sig, _images_codegen


@intrinsic
def prefetch_words(typingctx, arr, start, n):
    """prefetch_words(arr, start, n): ask the CPU to bring arr[start:start + n] (uint64 words)
    into cache ahead of use, one hint per 64-byte line; no effect on results."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.uint64 and arr.layout == "C"
            and isinstance(start, types.Integer) and isinstance(n, types.Integer)):
        return None
    sig = types.void(arr, types.int64, types.int64)

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        i8p = ir.IntType(8).as_pointer()
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(
            ir.VoidType(), [i8p, ir.IntType(32), ir.IntType(32), ir.IntType(32)]), "llvm.prefetch.p0i8")
        with cgutils.for_range_slice(builder, ir.Constant(_I64, 0), args[2], ir.Constant(_I64, 8),
                                     intp=_I64) as (k, _):
            ptr = builder.bitcast(builder.gep(data, [builder.add(args[1], k)]), i8p)
            builder.call(fn, [ptr, ir.Constant(ir.IntType(32), 0), ir.Constant(ir.IntType(32), 3),
                              ir.Constant(ir.IntType(32), 1)])
        return context.get_dummy_value()
    return sig, codegen
