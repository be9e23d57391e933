"""Encode and convolve in one pass: a conv layer's input streams made from an SNG bank next to
the AND + popcount tiles that consume them, never written out for the whole batch.

conv_counts_bank(thr, src, planes, width, tail, w) gives the counts conv_counts gives on the
padded streams encode_thresholds(thr, src, bank), and each input stream's popcount (what the
negative-tap correction reads), with the same bits. Why one pass:
- a batch's streams are large (250 images of ResNet-20's first stage at L = 1024 are 400 MB);
  writing them and reading them back costs more than the products, and every fresh buffer
  costs page faults;
- a bank source's bit-planes are read once per block of images, not once per image, so the
  comparator reads its random numbers from cache (with one SNG per activation, the default,
  the planes of a layer are 10x the size of one image's streams at L = 1024).

Work split, three paths:
- rolling row buffers (ungrouped convs whose kernel rows over all channels are at least
  DIRECT_MIN_WORDS long, channels innermost, so such a row is one run of words): a task takes
  blocks of up to MAX_RING_BLOCK images and keeps, per image, only the kh padded input rows
  one output row reads (row y in slot y % kh); each output row encodes the rows it newly
  needs for the whole block, then runs conv.py's window tiles, weight rows a chunk of
  WEIGHT_CHUNK_BYTES at a time over every image. The buffer stays within RING_BYTES, so a
  block can be large and a source's planes come from memory once per block;
- image blocks (grouped convs, short kernel rows): blocks of up to MAX_BLOCK whole images per
  task, encoded into a zero-padded buffer and convolved there with the direct or im2col tiles;
- below two blocks per thread (a latency run, batch 1), the images are encoded into one
  padded buffer in parallel and the convolution is split over output rows, so every core
  works on a single image.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from sc_accel.errors import InvalidInputError, is_int
from sc_accel.kernels.convert import as_int_array
from sc_accel.kernels.comparator import compare_images, compare_words, prefetch_words, vector_words
from sc_accel.kernels.conv import DIRECT_MIN_WORDS, TILE_PATCH_ROWS, _direct_row, _patch_block, _weight_rows

__all__ = ["conv_counts_bank", "MAX_BLOCK", "BLOCK_BYTES"]

MAX_BLOCK = 8            # images encoded together: a source's planes are read once for all of them
BLOCK_BYTES = 12 << 20   # per-task stream buffers beyond this shrink the block (both threads' blocks fit a 32 MB L3)


def l2_bytes(default: int = 1 << 20) -> int:
    """This CPU's per-core L2 cache in bytes (Linux sysfs), else `default`."""
    for index in range(4):
        base = f"/sys/devices/system/cpu/cpu0/cache/index{index}/"
        try:
            with open(base + "level") as f:
                if f.read().strip() != "2":
                    continue
            with open(base + "size") as f:
                text = f.read().strip().upper()
        except OSError:
            continue
        scale = {"K": 1 << 10, "M": 1 << 20}.get(text[-1:], 1)
        digits = text.rstrip("KMB")
        if digits.isdigit():
            return int(digits) * scale
    return default


# weight rows a block's direct tiles share, sized to stay in L2 beside one output row's inputs
# (5/8 of it: 640 KB on Zen 4-5's 1 MB, 320 KB on Zen 3's 512 KB, 1.25 MB on 2 MB Intel cores)
WEIGHT_CHUNK_BYTES = l2_bytes() * 5 // 8
MAX_RING_BLOCK = 32      # images per block with rolling row buffers (planes read once for all of them)
RING_BYTES = 4 << 20     # ... as many as keep a task's kh rows of each within this
MAX_WIDTH = 16           # comparator bits a bank's planes may hold (SCConfig allows up to 16)


@njit(inline="always", cache=True)
def _offset(buf, c, hwc, ci, y, x, ph, pw, nw):
    """Flat word offset of element (ci, y, x) in one image of the padded buffer buf (B, planes,
    Hp, ...): channels innermost when hwc, else a plane per channel."""
    if hwc:
        return ((y + ph) * buf.shape[3]) + ((x + pw) * c + ci) * nw
    return (ci * buf.shape[2] + y + ph) * buf.shape[3] + (x + pw) * nw


@njit(inline="always", cache=True)
def _encode_images(pf, s, tf, t0, pcf, p0, e_step, n, width, nw, df, d0, d_step, tail):
    """The streams of n images of one source (thresholds tf[t0 + i * e_step], streams to
    df[d0 + i * d_step], popcounts to pcf[p0 + i * e_step]): 8 at a time in compare_images
    when nw fits its vectors, else one compare_words each."""
    lanes = vector_words(nw)
    top = np.int64(1) << width
    for i0 in range(0, n, 8):
        k = min(8, n - i0)
        if lanes:
            compare_images(pf, s, tf, t0 + i0 * e_step, e_step, k, width, nw, df, d0 + i0 * d_step, d_step, pcf,
                           p0 + i0 * e_step, e_step, tail)
            continue
        for i in range(i0, i0 + k):
            t = min(max(tf[t0 + i * e_step], 0), top)
            pcf[p0 + i * e_step] = compare_words(pf, s, t, width, nw, df, d0 + i * d_step, tail)


@njit(cache=True)
def _encode_block(thr, src, planes, width, tail, b0, nb, c, h, ph, pw, hwc, buf, pcs):
    """Streams of images b0..b0+nb into buf[0..nb] (B', planes, Hp, Wp*...), element by element,
    so a source's planes come from memory once for the block; pcs[b, e] = popcount.
    Elements go in the buffer's own order (channels innermost when hwc), so its lines are
    written in turn; thr, src and pcs stay (C, H, W)-ordered and are walked in C strides."""
    nw = planes.shape[2]
    w_img = thr.shape[1] // (c * h)
    hw = h * w_img
    pf, df, tf, pcf = planes.reshape(-1), buf.reshape(-1), thr.reshape(-1), pcs.reshape(-1)
    img = buf.shape[1] * buf.shape[2] * buf.shape[3]
    ne = thr.shape[1]
    for a0 in range(c if not hwc else h):
        for a1 in range(h if not hwc else w_img):
            for a2 in range(w_img if not hwc else c):
                ci, y, x = (a0, a1, a2) if not hwc else (a2, a0, a1)
                e = ci * hw + y * w_img + x
                o = _offset(buf, c, hwc, ci, y, x, ph, pw, nw)
                _encode_images(pf, src[e] * width * nw, tf, b0 * ne + e, pcf, b0 * ne + e, ne, nb, width, nw, df, o,
                               img, tail)


@njit(cache=True)
def _conv_block(buf, nb, b0, wf, kh, kw, sh, sw, rows, direct, chunk, patches, acc, out):
    """Counts of the nb images in buf into out[b0:b0 + nb], every group. Direct tiles go chunk
    weight rows at a time over every image of the block, so those rows are read from L2 for the
    whole block (all of a deep layer's rows, 4.7 MB at C = 64 and L = 1024, would come from
    L3 once per 4 output positions); im2col tiles image by image."""
    oh, npos = out.shape[2], out.shape[2] * out.shape[3]
    ng = out.shape[1] // wf.shape[0]  # outputs per group (wf pads its rows to a multiple of 4)
    for g in range(wf.shape[0]):
        if direct:
            for n_lo in range(0, ng, chunk):
                for i in range(nb):
                    for oy in range(oh):
                        _direct_row(buf, i, wf, g, oy, kh, kw, sh, sw, acc, out, b0 + i, n_lo, n_lo + chunk)
        else:
            for i in range(nb):
                for r0 in range(0, npos, rows):
                    _patch_block(buf, i, wf, g, kh, kw, sh, sw, r0, min(r0 + rows, npos), patches, acc, out, b0 + i)


@njit(parallel=True, cache=True)
def _conv_blocks(thr, src, planes, width, tail, c, h, ph, pw, hwc, block, n_tasks,
                 wf, kh, kw, sh, sw, rows, direct, chunk, convolve, out, pcs):
    """Tasks of consecutive image blocks: encode a block into the task's buffer, convolve it
    (unless `convolve` is False: a profile of the encoding alone)."""
    nb_all, ne = thr.shape
    w_img = ne // (c * h)
    planes_n = 1 if hwc else c
    width_words = (w_img + 2 * pw) * planes.shape[2] * (c // planes_n)
    n_blocks = (nb_all + block - 1) // block
    for task in prange(n_tasks):
        buf = np.zeros((block, planes_n, h + 2 * ph, width_words), dtype=np.uint64)
        acc = np.zeros((4, 4), dtype=np.uint64)
        patches = np.empty((4 if direct else rows, wf.shape[2]), dtype=np.uint64)
        for blk in range(task * n_blocks // n_tasks, (task + 1) * n_blocks // n_tasks):
            b0 = blk * block
            nb = min(block, nb_all - b0)
            _encode_block(thr, src, planes, width, tail, b0, nb, c, h, ph, pw, hwc, buf, pcs)
            if convolve:
                _conv_block(buf, nb, b0, wf, kh, kw, sh, sw, rows, direct, chunk, patches, acc, out)


@njit(cache=True)
def _encode_row(thr, src, planes, width, tail, b0, nb, c, h, y, slot, pw, buf, pcs):
    """Image row y of images b0..b0+nb (channels innermost) into ring slot `slot` of buf
    (B', 1, R, Wp*C*W): pixel by pixel, a source's planes read once for the block. thr is
    (B, C*H*W); the popcounts go to pcs (B, H*W*C), channels last, the layout a correction
    conv reads fastest (oneDNN's channels-last path: 5x the NCHW one here)."""
    nw = planes.shape[2]
    ne = thr.shape[1]
    w_img = ne // (c * h)
    hw = h * w_img
    pf, df, tf, pcf = planes.reshape(-1), buf.reshape(-1), thr.reshape(-1), pcs.reshape(-1)
    img = buf.shape[1] * buf.shape[2] * buf.shape[3]
    step = width * nw
    for x in range(w_img):
        o = slot * buf.shape[3] + (x + pw) * c * nw
        for ci in range(c):
            e = ci * hw + y * w_img + x
            if ci + 1 < c or x + 1 < w_img:  # the next source's planes, while this one runs (18% at L = 1024)
                nxt = src[e + hw] if ci + 1 < c else src[y * w_img + x + 1]
                prefetch_words(pf, nxt * step, step)
            pe = b0 * ne + (y * w_img + x) * c + ci
            _encode_images(pf, src[e] * width * nw, tf, b0 * ne + e, pcf, pe, ne, nb, width, nw, df, o + ci * nw,
                           img, tail)


@njit(parallel=True, cache=True)
def _conv_rolling(thr, src, planes, width, tail, c, h, ph, pw, block, n_tasks, wf, kh, kw, sh, sw,
                  chunk, convolve, out, pcs):
    """The blocks path with rolling row buffers (ungrouped convs, channels innermost): a task's
    block of images keeps only the kh input rows one output row reads, padded row y in slot
    y % kh, so a block can be large (each source's planes are read once per block from memory)
    while its buffer stays small. Each output row encodes the sh rows it newly needs."""
    nb_all, ne = thr.shape
    w_img = ne // (c * h)
    nw = planes.shape[2]
    hp, oh = h + 2 * ph, out.shape[2]
    n_blocks = (nb_all + block - 1) // block
    ng = out.shape[1]
    for task in prange(n_tasks):
        buf = np.zeros((block, 1, kh, (w_img + 2 * pw) * c * nw), dtype=np.uint64)
        acc = np.zeros((4, 4), dtype=np.uint64)
        for blk in range(task * n_blocks // n_tasks, (task + 1) * n_blocks // n_tasks):
            b0 = blk * block
            nb = min(block, nb_all - b0)
            ready = 0  # padded rows 0..ready-1 are (or were) in the ring
            for oy in range(oh):
                need = min(oy * sh + kh, hp)
                while ready < need:
                    y = ready - ph
                    if y < 0 or y >= h:  # a padding row: zeros
                        buf[:nb, 0, ready % kh, :] = 0
                    else:
                        _encode_row(thr, src, planes, width, tail, b0, nb, c, h, y, ready % kh, pw, buf, pcs)
                    ready += 1
                if convolve:
                    for n_lo in range(0, ng, chunk):
                        for i in range(nb):
                            _direct_row(buf, i, wf, 0, oy, kh, kw, sh, sw, acc, out, b0 + i, n_lo, n_lo + chunk, kh)
            while ready < hp:  # rows no output reads (stride past the end): their popcounts still count
                y = ready - ph
                if 0 <= y < h:
                    _encode_row(thr, src, planes, width, tail, b0, nb, c, h, y, ready % kh, pw, buf, pcs)
                ready += 1


@njit(parallel=True, cache=True)
def _encode_all(thr, src, planes, width, tail, c, h, ph, pw, hwc, buf, pcs):
    """Every image into its own slice of buf (B, planes, Hp, ...), images and rows of elements
    split over the threads: the latency path's encode."""
    nb_all = thr.shape[0]
    for item in prange(nb_all * c):
        b = item // c
        _encode_range(thr, src, planes, width, tail, b, item - b * c, c, h, ph, pw, hwc, buf, pcs)


@njit(cache=True)
def _encode_range(thr, src, planes, width, tail, b, ci, c, h, ph, pw, hwc, buf, pcs):
    """Channel ci of image b into buf[b] (the latency path: one image, channels over threads)."""
    nw = planes.shape[2]
    w_img = thr.shape[1] // (c * h)
    pf, df = planes.reshape(-1), buf.reshape(-1)
    img = buf.shape[1] * buf.shape[2] * buf.shape[3]
    top = np.int64(1) << width
    e0 = ci * h * w_img
    for y in range(h):
        for x in range(w_img):
            e = e0 + y * w_img + x
            o = b * img + _offset(buf, c, hwc, ci, y, x, ph, pw, nw)
            t = min(max(thr[b, e], 0), top)
            pcs[b, e] = compare_words(pf, src[e] * width * nw, t, width, nw, df, o, tail)


@njit(parallel=True, cache=True)
def _conv_rows(buf, wf, kh, kw, sh, sw, rows, direct, out):
    """The latency path's convolution: tasks over (image, group, output row) on the direct
    path, (image, group, block of patch rows) on the im2col path."""
    groups = wf.shape[0]
    oh, npos = out.shape[2], out.shape[2] * out.shape[3]
    per = oh if direct else (npos + rows - 1) // rows
    for item in prange(buf.shape[0] * groups * per):
        b = item // (groups * per)
        rem = item - b * groups * per
        g = rem // per
        r = rem - g * per
        acc = np.zeros((4, 4), dtype=np.uint64)
        if direct:
            _direct_row(buf, b, wf, g, r, kh, kw, sh, sw, acc, out, b)
        else:
            patches = np.empty((rows, wf.shape[2]), dtype=np.uint64)
            _patch_block(buf, b, wf, g, kh, kw, sh, sw, r * rows, min(r * rows + rows, npos), patches, acc, out, b)


def blocks_pay(n_images: int, block: int) -> bool:
    """Whether image blocks keep every thread busy (two blocks each); else the latency split."""
    return n_images >= 2 * numba.get_num_threads() * block


def _weight_chunk(wf: np.ndarray) -> int:
    """Weight rows per chunk of the direct path: a multiple of 4 whose rows fit WEIGHT_CHUNK_BYTES."""
    return int(max(4, WEIGHT_CHUNK_BYTES // max(8 * wf.shape[2], 1) // 4 * 4))


def _ring_block(image_bytes: int) -> int:
    """Images per block on the rolling path: up to MAX_RING_BLOCK, as many whose kh rows
    (image_bytes each) fit RING_BYTES."""
    return int(max(1, min(MAX_RING_BLOCK, RING_BYTES // max(image_bytes, 1))))


def _block_size(image_bytes: int) -> int:
    """Images per block: up to MAX_BLOCK, as many as fit BLOCK_BYTES."""
    return int(max(1, min(MAX_BLOCK, BLOCK_BYTES // max(image_bytes, 1))))


def conv_counts_bank(thr: np.ndarray, src: np.ndarray, planes: np.ndarray, width: int, tail: np.uint64,
                     w: np.ndarray, stride: tuple[int, int] = (1, 1),
                     padding: tuple[int, int] = (0, 0), groups: int = 1,
                     convolve: bool = True, pcs_dtype: type = np.float64) -> tuple[np.ndarray, np.ndarray]:
    """(counts (B, N, OH, OW) float64, input stream popcounts (B, C, H, W)) of the conv of the
    streams that an SNG bank's bit-planes (P, width, W) give thresholds thr (B, C, H, W) against
    sources src (C*H*W,), zero-padded by `padding`, with weight streams w (N, C/groups, kh, kw,
    W). The same integers as encode_thresholds then conv_counts (exact in float64 below 2^53);
    the popcounts in `pcs_dtype` (float32 saves the correction a conversion pass), laid out
    channels-last (a transposed view) when the conv takes the rolling path. convolve=False
    makes the streams and their popcounts only (the counts are left unset): what a profile of
    the encoding's share times."""
    thr, src = _check(thr, src, planes, w, tail, stride, padding)
    if not isinstance(width, (int, np.integer)) or not 1 <= int(width) <= MAX_WIDTH or planes.shape[1] != width:
        raise InvalidInputError(f"conv_counts_bank needs the comparator width of the planes (1 to {MAX_WIDTH}); got "
                                f"width {width!r} for planes of {planes.shape[1]} bits.")
    ph, pw = int(padding[0]), int(padding[1])
    if ph < 0 or pw < 0:
        raise InvalidInputError(f"padding must be non-negative, got {padding}.")
    nb, c, h, wd = np.shape(thr)
    nw = w.shape[-1]
    hwc = groups == 1 and c > 1 and w.shape[3] * c * nw >= DIRECT_MIN_WORDS
    wf, oh, ow, direct, rows = _weight_rows(w, c, h + 2 * ph, wd + 2 * pw, stride, groups, thr.shape, hwc)
    out = np.empty((nb, w.shape[0], oh, ow), dtype=np.float64)
    if pcs_dtype not in (np.float32, np.float64):
        raise InvalidInputError(f"conv_counts_bank gives popcounts as float32 or float64, not {pcs_dtype}.")
    pcs = np.empty((nb, c * h * wd), dtype=pcs_dtype)  # float32 is exact below 2^24 (a stream's ones: <= L)
    rest = (np.ascontiguousarray(src, dtype=np.int64).reshape(-1), np.ascontiguousarray(planes), int(width),
            np.uint64(tail), c, h, ph, pw)
    planes_n = 1 if hwc else c
    shape = (planes_n, h + 2 * ph, (wd + 2 * pw) * nw * (c // planes_n))  # one padded image
    block = _block_size(8 * int(np.prod(shape)))
    geometry = (wf, w.shape[2], w.shape[3], int(stride[0]), int(stride[1]))
    ring = _ring_block(8 * int(w.shape[2]) * (wd + 2 * pw) * c * nw) if hwc else 0  # kh padded rows, bytes
    if hwc and blocks_pay(nb, ring):
        n_tasks = min(numba.get_num_threads() * 4, (nb + ring - 1) // ring)
        _conv_rolling(_chw(thr), *rest, ring, n_tasks, *geometry, _weight_chunk(wf), convolve, out, pcs)
        return out, pcs.reshape(nb, h, wd, c).transpose(0, 3, 1, 2)  # written channels-last
    if blocks_pay(nb, block):
        n_tasks = min(numba.get_num_threads() * 4, (nb + block - 1) // block)
        _conv_blocks(_chw(thr), *rest, hwc, block, n_tasks, *geometry, TILE_PATCH_ROWS, direct, _weight_chunk(wf),
                     convolve, out, pcs)
    else:  # few images: every core on each of them
        buf = np.zeros((nb,) + shape, dtype=np.uint64)
        _encode_all(_chw(thr), *rest, hwc, buf, pcs)
        if convolve:
            _conv_rows(buf, *geometry, rows, direct, out)
    return out, pcs.reshape(nb, c, h, wd)


def _chw(thr: np.ndarray) -> np.ndarray:
    """Thresholds (B, C, H, W) as a C-contiguous int64 (B, C*H*W) array (a copy if laid out otherwise)."""
    return np.ascontiguousarray(thr, dtype=np.int64).reshape(thr.shape[0], -1)


def _check(thr: np.ndarray, src: np.ndarray, planes: np.ndarray, w: np.ndarray, tail: object, stride: object,
           padding: object) -> tuple[np.ndarray, np.ndarray]:
    """Shapes, dtypes and values the kernels rely on, refused in one sentence before they run;
    returns (thr, src) as int64 arrays (whole numbers only: a NaN or a fraction is refused)."""
    for name, a in (("planes", planes), ("w", w)):
        if not isinstance(a, np.ndarray) or a.dtype != np.uint64:
            raise InvalidInputError(f"conv_counts_bank needs packed np.uint64 {name}, got "
                                    f"{getattr(a, 'dtype', type(a))}.")
    src = as_int_array(src, "conv_counts_bank's source indices").reshape(-1)
    thr = as_int_array(thr, "conv_counts_bank's thresholds")
    if (thr.ndim != 4 or planes.ndim != 3 or w.ndim != 5 or planes.shape[2] != w.shape[-1]
            or src.size != int(np.prod(thr.shape[1:]))):
        raise InvalidInputError(f"conv_counts_bank needs thr (B, C, H, W), src (C*H*W,), planes (P, width, words) "
                                f"and w (N, Cg, kh, kw, words); got {thr.shape}, {src.shape}, {planes.shape}, "
                                f"{w.shape}.")
    if planes.shape[0] == 0:
        raise InvalidInputError("conv_counts_bank needs an SNG bank with at least one source; got no planes.")
    if src.size and (src.min() < 0 or src.max() >= planes.shape[0]):
        raise InvalidInputError(f"conv_counts_bank needs source indices in 0..{planes.shape[0] - 1}; got "
                                f"{src.min()}..{src.max()}.")
    if not is_int(tail) or not 0 <= int(tail) < 1 << 64:
        raise InvalidInputError(f"conv_counts_bank needs the last word's mask as a 64-bit unsigned integer; "
                                f"got {tail!r}.")
    for name, pair in (("stride", stride), ("padding", padding)):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not all(is_int(v) for v in pair):
            raise InvalidInputError(f"conv_counts_bank needs {name} as a pair of whole numbers (rows, columns); "
                                    f"got {pair!r}.")
    return thr, src
