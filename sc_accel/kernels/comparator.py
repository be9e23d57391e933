"""The bit-sliced SNG comparator over whole words, written as explicit LLVM vector code.

compare_words(pf, base, t, width, nw, df, o, tail) writes df[o:o + nw] = the packed stream
(r_k < t) of one SNG source, whose random numbers r_k are stored as `width` bit-planes of nw
words (plane j, bit j of every r_k, at pf[base + j * nw]), and returns its popcount; the
comparator runs from the MSB plane down:

    l |= q & ~p_j & m_j;  q &= ~(p_j ^ m_j)      (m_j all ones where t has bit j)

with l = all ones and q = none at the start when t = 2^width (bit `width` of every r is 0),
so no branch depends on t. The words go 8, then 4, then 1 at a time in <n x i64> vectors.
compare_images does the same for up to 8 images of one source with 1, 2 or 4 words each,
packed into one <8 x i64>.

Why IR: the same loop written in numba ran scalar and 3-5x slower. The running state (l, q)
must stay in registers across the plane loop, with a plane count known only at run time;
LLVM's loop vectoriser does not do that for state kept in arrays, and its SLP vectoriser did
not pack scalar chains. Both mask a stream's last word to the stream length by `tail`
(planes hold zeros past it, and 0 < t would set those bits).
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["compare_words", "compare_images"]

_I64 = ir.IntType(64)


def _splat(builder: ir.IRBuilder, value: ir.Value, n: int) -> ir.Value:
    vec = ir.Constant(ir.VectorType(_I64, n), ir.Undefined)
    for i in range(n):
        vec = builder.insert_element(vec, value, ir.Constant(ir.IntType(32), i))
    return vec


def _loop_head(builder: ir.IRBuilder, vt: ir.VectorType, start: tuple, body: ir.Block, done: ir.Block,
               plane: ir.Block) -> tuple:
    """The plane loop's head (positioned at): phis (j, l, q) from `start` = (width - 1, l0, q0)
    coming from `body`; leaves to `done` once j < 0."""
    j, lv, qv = builder.phi(_I64), builder.phi(vt), builder.phi(vt)
    for phi, value in zip((j, lv, qv), start):
        phi.add_incoming(value, body)
    builder.cbranch(builder.icmp_signed("<", j, ir.Constant(_I64, 0)), done, plane)
    return j, lv, qv


def _plane_step(builder: ir.IRBuilder, j: ir.Value, lv: ir.Value, qv: ir.Value, p: ir.Value, m: ir.Value,
                plane: ir.Block, head: ir.Block) -> None:
    """One plane: l |= q & ~p & m, q &= ~(p ^ m), j -= 1, back to the loop head."""
    l1 = builder.or_(lv, builder.and_(builder.and_(qv, builder.not_(p)), m))
    q1 = builder.and_(qv, builder.not_(builder.xor(p, m)))
    for phi, value in zip((j, lv, qv), (builder.sub(j, ir.Constant(_I64, 1)), l1, q1)):
        phi.add_incoming(value, plane)
    builder.branch(head)


def _chunks(builder: ir.IRBuilder, n: int, pf: ir.Value, df: ir.Value, base: ir.Value, t: ir.Value,
            width: ir.Value, nw: ir.Value, o: ir.Value, k_ptr: ir.Value, cnt_ptr: ir.Value) -> None:
    """Emit: while k + n <= nw, the comparator on words k..k+n-1 in one <n x i64>; k += n."""
    vt = ir.VectorType(_I64, n)
    fn = builder.function
    cond, body, planes, plane, done, out = (fn.append_basic_block(f"w{n}_{s}") for s in
                                            ("cond", "body", "planes", "plane", "done", "out"))
    builder.branch(cond)
    builder.position_at_end(cond)
    k = builder.load(k_ptr)
    builder.cbranch(builder.icmp_signed("<=", builder.add(k, ir.Constant(_I64, n)), nw), body, out)

    builder.position_at_end(body)
    one = ir.Constant(_I64, 1)
    top = builder.sub(ir.Constant(_I64, 0), builder.and_(builder.lshr(t, width), one))
    l0, q0 = _splat(builder, top, n), _splat(builder, builder.not_(top), n)
    j0 = builder.sub(width, one)
    builder.branch(planes)

    builder.position_at_end(planes)
    j, lv, qv = _loop_head(builder, vt, (j0, l0, q0), body, done, plane)

    builder.position_at_end(plane)
    idx = builder.add(builder.add(base, builder.mul(j, nw)), k)
    p = builder.load(builder.bitcast(builder.gep(pf, [idx]), vt.as_pointer()), align=8)
    m = _splat(builder, builder.sub(ir.Constant(_I64, 0), builder.and_(builder.lshr(t, j), one)), n)
    _plane_step(builder, j, lv, qv, p, m, plane, planes)

    builder.position_at_end(done)
    builder.store(lv, builder.bitcast(builder.gep(df, [builder.add(o, k)]), vt.as_pointer()), align=8)
    pcs = builder.call(cgutils.get_or_insert_function(builder.module, ir.FunctionType(vt, [vt]),
                                                      f"llvm.ctpop.v{n}i64"), [lv])
    total = builder.load(cnt_ptr)
    for i in range(n):
        total = builder.add(total, builder.extract_element(pcs, ir.Constant(ir.IntType(32), i)))
    builder.store(total, cnt_ptr)
    builder.store(builder.add(k, ir.Constant(_I64, n)), k_ptr)
    builder.branch(cond)
    builder.position_at_end(out)


def _ctpop(builder: ir.IRBuilder, v: ir.Value) -> ir.Value:
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(v.type, [v.type]),
                                        f"llvm.ctpop.{'v8i64' if isinstance(v.type, ir.VectorType) else 'i64'}")
    return builder.call(fn, [v])


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


def _lane_images(builder: ir.IRBuilder, words: int, first: ir.Value, ts: ir.Value) -> tuple[ir.Value, list]:
    """(<8 x i64> of each lane's threshold, the image index of each lane) for images
    first, first + 1, ... packed `words` lanes each."""
    vec = ir.Constant(ir.VectorType(_I64, 8), ir.Undefined)
    idx = []
    for lane in range(8):
        i = builder.add(first, ir.Constant(_I64, lane // words))
        idx.append(i)
        vec = builder.insert_element(vec, builder.load(builder.gep(ts, [i])), ir.Constant(ir.IntType(32), lane))
    return vec, idx


def _images_codegen(context, builder, signature, args):
    """IR of compare_images: groups of 8 // nw images, one <8 x i64> per group."""
    pfa, tsa, dfa, offa, pca = (context.make_array(signature.args[i])(context, builder, args[i])
                                for i in (0, 2, 6, 7, 8))
    base, n, width, nw = args[1], args[3], args[4], args[5]
    tail = args[9]
    fn = builder.function
    v8 = ir.VectorType(_I64, 8)
    one, zero = ir.Constant(_I64, 1), ir.Constant(_I64, 0)
    exit_bb = fn.append_basic_block("img_exit")
    wide_bb, narrow_bb = fn.append_basic_block("img_wide"), fn.append_basic_block("img_narrow")
    multiple = builder.icmp_signed("==", builder.and_(nw, ir.Constant(_I64, 7)), zero)
    builder.cbranch(builder.and_(multiple, builder.icmp_signed(">", nw, zero)), wide_bb, narrow_bb)
    builder.position_at_end(wide_bb)
    _wide_codegen(context, builder, signature, args)
    builder.branch(exit_bb)
    builder.position_at_end(narrow_bb)
    cases = {}
    for words in (1, 2, 4):
        cases[words] = fn.append_basic_block(f"img_w{words}")
    sw = builder.switch(nw, exit_bb)
    for words, bb in cases.items():
        sw.add_case(ir.Constant(_I64, words), bb)
    for words, bb in cases.items():
        builder.position_at_end(bb)
        per = 8 // words  # images per vector
        g_ptr = cgutils.alloca_once_value(builder, zero)
        cond, body, planes, plane, done = (fn.append_basic_block(f"img{words}_{s}") for s in
                                           ("cond", "body", "planes", "plane", "done"))
        builder.branch(cond)
        builder.position_at_end(cond)
        first = builder.load(g_ptr)
        builder.cbranch(builder.icmp_signed("<", first, n), body, exit_bb)

        builder.position_at_end(body)
        tv, idx = _lane_images(builder, words, first, tsa.data)
        wsplat = _splat(builder, width, 8)
        top = builder.sub(_splat(builder, zero, 8), builder.and_(builder.lshr(tv, wsplat), _splat(builder, one, 8)))
        j0, q0 = builder.sub(width, one), builder.not_(top)
        builder.branch(planes)

        builder.position_at_end(planes)
        j, lv, qv = _loop_head(builder, v8, (j0, top, q0), body, done, plane)

        builder.position_at_end(plane)
        row_ptr = builder.gep(pfa.data, [builder.add(base, builder.mul(j, nw))])
        row = builder.load(builder.bitcast(row_ptr, ir.VectorType(_I64, words).as_pointer()), align=8)
        mask = ir.Constant(ir.VectorType(ir.IntType(32), 8), [lane % words for lane in range(8)])
        p = builder.shuffle_vector(row, row, mask)
        m = builder.sub(_splat(builder, zero, 8),
                        builder.and_(builder.lshr(tv, _splat(builder, j, 8)), _splat(builder, one, 8)))
        _plane_step(builder, j, lv, qv, p, m, plane, planes)

        builder.position_at_end(done)
        last = ir.Constant(v8, [0] * 8)
        for lane in range(8):
            last = builder.insert_element(last, tail if lane % words == words - 1 else ir.Constant(_I64, -1),
                                          ir.Constant(ir.IntType(32), lane))
        out = builder.and_(lv, last)
        counts = _ctpop(builder, out)
        for k in range(per):
            image = idx[k * words]
            with builder.if_then(builder.icmp_signed("<", image, n)):
                total = zero
                dst = builder.gep(dfa.data, [builder.load(builder.gep(offa.data, [image]))])
                for w in range(words):
                    lane = ir.Constant(ir.IntType(32), k * words + w)
                    builder.store(builder.extract_element(out, lane), builder.gep(dst, [ir.Constant(_I64, w)]))
                    total = builder.add(total, builder.extract_element(counts, lane))
                builder.store(total, builder.gep(pca.data, [image]))
        builder.store(builder.add(first, ir.Constant(_I64, per)), g_ptr)
        builder.branch(cond)
    builder.position_at_end(exit_bb)
    return context.get_dummy_value()


WIDE_IMAGES = 4  # images whose comparators share one plane loop on long streams (nw a multiple of 8)


def _wide_chunk(builder: ir.IRBuilder, pf: ir.Value, base: ir.Value, width: ir.Value, nw: ir.Value, k: ir.Value,
                tv: list) -> list:
    """Emit the plane loop over words k..k+7 of len(tv) images at once, thresholds tv: one
    (l, q) chain per image, each plane loaded once for all, so the chains' latencies overlap.
    Returns each image's <8 x i64> of stream words."""
    fn = builder.function
    v8 = ir.VectorType(_I64, 8)
    one, zero = ir.Constant(_I64, 1), ir.Constant(_I64, 0)
    starts = []
    for t in tv:  # bit `width` of t set (t = 2^width): every r is below it
        top = builder.sub(zero, builder.and_(builder.lshr(t, width), one))
        starts.append((_splat(builder, top, 8), _splat(builder, builder.not_(top), 8)))
    j0 = builder.sub(width, one)
    start = builder.block
    planes, plane, done = (fn.append_basic_block(f"wide_{s}") for s in ("planes", "plane", "done"))
    builder.branch(planes)

    builder.position_at_end(planes)
    j = builder.phi(_I64)
    j.add_incoming(j0, start)
    chains = []
    for l0, q0 in starts:
        lv, qv = builder.phi(v8), builder.phi(v8)
        lv.add_incoming(l0, start)
        qv.add_incoming(q0, start)
        chains.append((lv, qv))
    builder.cbranch(builder.icmp_signed("<", j, zero), done, plane)

    builder.position_at_end(plane)
    idx = builder.add(builder.add(base, builder.mul(j, nw)), k)
    p = builder.load(builder.bitcast(builder.gep(pf, [idx]), v8.as_pointer()), align=8)
    for t, (lv, qv) in zip(tv, chains):
        m = _splat(builder, builder.sub(zero, builder.and_(builder.lshr(t, j), one)), 8)
        lv.add_incoming(builder.or_(lv, builder.and_(builder.and_(qv, builder.not_(p)), m)), plane)
        qv.add_incoming(builder.and_(qv, builder.not_(builder.xor(p, m))), plane)
    j.add_incoming(builder.sub(j, one), plane)
    builder.branch(planes)
    builder.position_at_end(done)
    return [lv for lv, _ in chains]


def _wide_codegen(context, builder, signature, args):
    """IR of compare_images for nw a multiple of 8: images WIDE_IMAGES at a time, each group
    over the stream's 8-word chunks; popcounts summed per image; last words masked by tail."""
    pfa, tsa, dfa, offa, pca = (context.make_array(signature.args[i])(context, builder, args[i])
                                for i in (0, 2, 6, 7, 8))
    base, n, width, nw, tail = args[1], args[3], args[4], args[5], args[9]
    fn = builder.function
    zero, eight = ir.Constant(_I64, 0), ir.Constant(_I64, 8)
    g_ptr = cgutils.alloca_once_value(builder, zero)
    k_ptr = cgutils.alloca_once_value(builder, zero)
    cnt_ptrs = [cgutils.alloca_once_value(builder, zero) for _ in range(WIDE_IMAGES)]
    g_cond, g_body, k_cond, k_body, g_end, exit_bb = (fn.append_basic_block(f"wide_{s}") for s in
                                                      ("gcond", "gbody", "kcond", "kbody", "gend", "exit"))
    builder.branch(g_cond)
    builder.position_at_end(g_cond)
    g = builder.load(g_ptr)
    builder.cbranch(builder.icmp_signed("<", g, n), g_body, exit_bb)

    builder.position_at_end(g_body)
    images = [builder.add(g, ir.Constant(_I64, i)) for i in range(WIDE_IMAGES)]
    live = [builder.icmp_signed("<", i, n) for i in images]
    # an image past n reads threshold 0 (and writes nothing): ts holds 8 entries, n may be any of 1..8
    tv = [builder.select(ok, builder.load(builder.gep(tsa.data, [builder.select(ok, i, zero)])), zero)
          for ok, i in zip(live, images)]
    offs = [builder.load(builder.gep(offa.data, [builder.select(ok, i, zero)])) for ok, i in zip(live, images)]
    for ptr in cnt_ptrs:
        builder.store(zero, ptr)
    builder.store(zero, k_ptr)
    builder.branch(k_cond)

    builder.position_at_end(k_cond)
    k = builder.load(k_ptr)
    builder.cbranch(builder.icmp_signed("<", k, nw), k_body, g_end)

    builder.position_at_end(k_body)
    words = _wide_chunk(builder, pfa.data, base, width, nw, k, tv)
    for ok, off, lv, ptr in zip(live, offs, words, cnt_ptrs):
        with builder.if_then(ok):
            dst = builder.gep(dfa.data, [builder.add(off, k)])
            builder.store(lv, builder.bitcast(dst, lv.type.as_pointer()), align=8)
            pc = _ctpop(builder, lv)
            total = builder.load(ptr)
            for lane in range(8):
                total = builder.add(total, builder.extract_element(pc, ir.Constant(ir.IntType(32), lane)))
            builder.store(total, ptr)
    builder.store(builder.add(k, eight), k_ptr)
    builder.branch(k_cond)

    builder.position_at_end(g_end)
    for ok, i, off, ptr in zip(live, images, offs, cnt_ptrs):
        with builder.if_then(ok):
            last = builder.gep(dfa.data, [builder.sub(builder.add(off, nw), ir.Constant(_I64, 1))])
            word = builder.load(last)
            kept = builder.and_(word, tail)
            builder.store(kept, last)
            count = builder.add(builder.sub(builder.load(ptr), _ctpop(builder, word)), _ctpop(builder, kept))
            builder.store(count, builder.gep(pca.data, [i]))
    builder.store(builder.add(g, ir.Constant(_I64, WIDE_IMAGES)), g_ptr)
    builder.branch(g_cond)
    builder.position_at_end(exit_bb)


@intrinsic
def compare_images(typingctx, pf, base, ts, n, width, nw, df, offs, pcs, tail):
    """compare_images(pf, base, ts, n, width, nw, df, offs, pcs, tail): the streams of n <= 8
    images' thresholds ts[:n] (ts holds 8, the rest 0) against ONE source's planes at pf[base],
    for streams of nw = 1, 2 or 4 words: 8 // nw images share a <8 x i64> (the planes broadcast,
    the thresholds per lane), so short streams fill the vector; with nw a multiple of 8,
    WIDE_IMAGES images' comparators run in one plane loop, 8 words at a time, each plane loaded
    once for all (one image alone is a chain of dependent steps, about 3 cycles each; four
    chains overlap). Image i's stream goes to df[offs[i]:offs[i] + nw], its last word masked by
    `tail`, its popcount to pcs[i]. Another nw writes nothing (the caller uses compare_words)."""
    arrays = (pf, ts, df, offs, pcs)
    if not all(isinstance(a, types.Array) and a.layout == "C" and a.ndim == 1 for a in arrays):
        return None
    if pf.dtype != types.uint64 or df.dtype != types.uint64 or pcs.dtype != types.uint64 \
            or ts.dtype != types.int64 or offs.dtype != types.int64:
        return None
    sig = types.void(pf, types.int64, ts, types.int64, types.int64, types.int64, df, offs, pcs, types.uint64)
    return sig, _images_codegen
