"""SNG banks: a fixed set of generator outputs, stored as bit-planes, and a bit-sliced comparator.

Emulating a layer re-encodes millions of activations per batch, always against the same
few thousand (generator, rotation) sources (generators restart for every image, as in
hardware that resets its SNGs per inference). A bank keeps each source's r_t as `width`
packed bit-planes, so the comparator r_t < T runs 64 cycles per word operation:

    lt = 0, eq = all ones; for bit j from the MSB: m = all ones if T has bit j
    lt |= eq & ~plane_j & m;  eq &= ~(plane_j ^ m)

The bits equal those of `coding.encode` for the same generator, rotation and threshold
(tests check this); T = 2^width means "always 1".

Where it fits in TABLE_LIMIT_BYTES, a bank also keeps every source's stream for every
threshold (2^width + 1 rows), built by one pass over the sequence; encoding is then a
copy of W words, about 10x faster than the bit-sliced comparator. Both give the same bits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange

from sc_accel.bits import U0, U1, check_length, n_words, rewire, stream_counts, tail_mask
from sc_accel.errors import InvalidInputError, is_int
from sc_accel.kernels.comparator import compare_images, vector_words
from sc_accel.kernels.convert import as_int_array
from sc_accel.streams import _sng_kernels as K
from sc_accel.streams.budget import check_fits
from sc_accel.streams.generators import _DIRS, _check_seed, check_generator_ids, check_width, generator_params, kind_code
from sc_accel.streams.lfsr import poly_table
from sc_accel.streams.periodic import periodic_planes
from sc_accel.streams.sobol import n_sobol_dims

__all__ = ["SourceBank", "build_bank", "role_generator_ids", "encode_thresholds", "threshold_counts", "table_bytes",
           "bank_bytes", "TABLE_LIMIT_BYTES"]

_POLYS, _N_POLYS = poly_table()
TABLE_LIMIT_BYTES = 256 << 20  # default per-bank cap; beyond it encoding uses the bit-planes


@dataclass(frozen=True, eq=False)
class SourceBank:
    """planes[p, j] = bit j of source p's numbers r_0..r_{L-1}, packed; (P, width, W) uint64."""

    planes: np.ndarray
    width: int
    length: int
    table: np.ndarray | None = None  # (P, 2^width + 1, W) uint64: stream of every threshold
    counts: np.ndarray | None = None  # (P, 2^width + 1) int64: ones in each table stream

    @property
    def n_sources(self) -> int:
        """Number of distinct (generator, rotation) sources."""
        return int(self.planes.shape[0])


def role_generator_ids(sng: str, width: int, seed: int, role: int, n: int, n_roles: int = 2) -> np.ndarray:
    """Generator ids 0..n-1 of one role, remapped so different roles never share a source family.

    Two streams ANDed together must come from unrelated generators: for "lfsr" the roles
    get disjoint sets of primitive polynomials, for "sobol" disjoint sets of dimensions
    (generator_params picks index (seed + id) mod P). Other kinds are returned as offsets.
    """
    i = np.arange(n, dtype=np.int64)
    code = kind_code(sng)
    if code == K.LFSR:
        period = int(_N_POLYS[width])
    elif code == K.SOBOL:
        period = n_sobol_dims()
    else:
        return i * n_roles + role
    half = max(period // n_roles, 1)
    slot = (role * half + i % half) % period                 # family index this role may use
    return period * (1 + i // half) + (slot - seed) % period  # >= period: a digital shift / new state


@njit(parallel=True, cache=True)
def _planes(seqs, rot, width, length, out):
    """out[p, j] = packed bit j of rewire(seqs[p], rot[p]) (rotation and XOR mask)."""
    for p in prange(seqs.shape[0]):
        r = np.empty(length, dtype=np.uint64)
        for t in range(length):
            r[t] = rewire(seqs[p, t], rot[p], width)
        K.pack_planes(r, width, length, out[p])


@njit(parallel=True, cache=True)
def _fill_planes(kind, width, params, dirs, rot, length, out):
    """_planes of every source's sequence, made in a per-thread buffer: no (P, L) array of
    sequences (8 bytes a cycle, 6x the planes, and fresh pages cost more than the fill)."""
    n = out.shape[0]
    chunk = 64
    for c in prange((n + chunk - 1) // chunk):
        r4 = np.empty((4, length), dtype=np.uint64)
        for p0 in range(c * chunk, min(c * chunk + chunk, n), 4):
            count = min(4, min(c * chunk + chunk, n) - p0)
            if kind == K.LFSR:  # four LFSRs side by side: their serial chains overlap
                K.lfsr_fill4(params, p0, count, width, r4)
            else:
                for k in range(count):
                    K.fill_sequence(kind, width, params[p0 + k], dirs, r4[k])
            for k in range(count):
                r = r4[k]
                for t in range(length):
                    r[t] = rewire(r[t], rot[p0 + k], width)
                K.pack_planes(r, width, length, out[p0 + k])


@njit(parallel=True, cache=True)
def _tables(seqs, rot, width, length, out):
    """out[p, T] = packed (rewire(r_t) < T) for every threshold T, by a cumulative OR over values."""
    nw = out.shape[2]
    for p in prange(seqs.shape[0]):
        tab = out[p]
        tab[:, :] = U0
        for t in range(length):
            v = rewire(seqs[p, t], rot[p], width)
            tab[np.int64(v) + 1, t >> 6] |= U1 << np.uint64(t & 63)
        for T in range(1, tab.shape[0]):
            for w in range(nw):
                tab[T, w] |= tab[T - 1, w]


def table_bytes(n_sources: int, length: int, width: int) -> int:
    """Memory a threshold table of n_sources sources would take."""
    return n_sources * ((1 << width) + 1) * n_words(length) * 8


def bank_bytes(n_sources: int, length: int, width: int, table_limit: int = TABLE_LIMIT_BYTES) -> int:
    """Peak memory of build_bank for n_sources distinct sources: their sequences and bit-planes, and
    the threshold table when it is within `table_limit`."""
    table = table_bytes(n_sources, length, width)
    return n_sources * (length + width * n_words(length)) * 8 + (table if table <= table_limit else 0)


def _bank_args(sng: str, length: int, width: int, seed: int, gen_ids: object, rotations: object,
               table_limit: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """build_bank's arguments checked: (generator ids, wiring codes, width, length)."""
    kind_code(sng)
    _check_seed(seed)
    length, width = check_length(length), check_width(width, sng)
    ids = check_generator_ids(gen_ids)
    code = as_int_array(rotations, "wiring codes").reshape(-1)
    if code.size != ids.size or (code.size and code.min() < 0):
        raise InvalidInputError(f"build_bank needs one wiring code >= 0 per generator id; got {code.size} codes "
                                f"(smallest {code.min() if code.size else None}) for {ids.size} ids.")
    if not is_int(table_limit):
        raise InvalidInputError(f"table_limit {table_limit!r} must be a whole number of bytes.")
    return ids, code, width, length


def _distinct_pairs(gen_ids: np.ndarray, rot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique of the (generator id, wiring) rows with their inverse, in the same (sorted)
    order; as one int64 key when both fit (a row-wise unique sorts several times slower)."""
    if gen_ids.size and gen_ids.max() < 1 << 38 and rot.max() < 1 << 24:
        keys, src = np.unique((gen_ids.astype(np.int64) << 24) | rot, return_inverse=True)
        return np.stack([keys >> 24, keys & ((1 << 24) - 1)], axis=1), src
    return np.unique(np.stack([gen_ids, rot], axis=1), axis=0, return_inverse=True)


def build_bank(sng: str, length: int, width: int, seed: int, gen_ids: np.ndarray,
               rotations: np.ndarray, table_limit: int = TABLE_LIMIT_BYTES) -> tuple[SourceBank, np.ndarray]:
    """Bank of the distinct (generator id, wiring) pairs, and each stream's source index; a
    wiring code is a rotation (low byte) and an XOR mask (above it), see SharingMap.wiring.

    The threshold table is built when it takes at most `table_limit` bytes. Arguments are
    checked, and the memory the bank needs, before anything is built.
    """
    gen_ids, code, width, length = _bank_args(sng, length, width, seed, gen_ids, rotations, table_limit)
    rot = ((code & 0xFF) % width) | (((code >> 8) & ((1 << width) - 1)) << 8)
    pairs, src = _distinct_pairs(gen_ids, rot)
    check_fits(bank_bytes(pairs.shape[0], length, width, table_limit), f"an SNG bank of {pairs.shape[0]} sources "
               f"at L={length}", "use a shorter stream or more SNG sharing")
    params = generator_params(sng, width, seed, pairs[:, 0])
    planes = np.empty((pairs.shape[0], width, n_words(length)), dtype=np.uint64)
    rot_p = pairs[:, 1].astype(np.int64)
    if table_bytes(pairs.shape[0], length, width) > table_limit:
        if not periodic_planes(kind_code(sng), width, params, _DIRS, rot_p, length, planes):
            _fill_planes(kind_code(sng), width, params, _DIRS, rot_p, length, planes)
        return SourceBank(planes, width, length), src.reshape(-1).astype(np.int64)
    seqs = np.empty((pairs.shape[0], length), dtype=np.uint64)
    K.fill_sequences(kind_code(sng), width, params, _DIRS, seqs)
    _planes(seqs, rot_p, width, length, planes)
    table = np.empty((pairs.shape[0], (1 << width) + 1, planes.shape[2]), dtype=np.uint64)
    _tables(seqs, rot_p, width, length, table)
    counts = stream_counts(table, length)  # what a counter reads off each table stream
    return SourceBank(planes, width, length, table, counts), src.reshape(-1).astype(np.int64)


def threshold_counts(thr: np.ndarray, src: np.ndarray, bank: SourceBank) -> np.ndarray | None:
    """Ones in the streams encode_thresholds(thr, src, bank) gives, read from the bank's table
    counts without touching the streams; None when the bank has no table."""
    if bank.counts is None:
        return None
    thr = np.ascontiguousarray(thr, dtype=np.int64).reshape(-1)
    src = np.ascontiguousarray(src, dtype=np.int64).reshape(-1)
    out = np.empty(thr.size, dtype=np.int64)
    if thr.size:
        _lookup_counts(thr, src, bank.counts, out)
    return out


@njit(parallel=True, cache=True)
def _encode(thr, src, planes, width, tail, out):
    """out[s] = stream of threshold thr[s] against source src[s % len(src)] (bit-sliced)."""
    nw = out.shape[1]
    nsrc = src.shape[0]
    top = np.int64(1) << width
    for c in prange((out.shape[0] + 255) // 256):
        lt = np.empty(nw, dtype=np.uint64)
        eq = np.empty(nw, dtype=np.uint64)
        for s in range(c * 256, min(c * 256 + 256, out.shape[0])):
            t = min(max(thr[s], 0), top)
            row = out[s]
            if t == 0 or t == top:
                row[:] = U0 if t == 0 else ~U0
                row[nw - 1] &= tail
                continue
            pl = planes[src[s % nsrc]]
            lt[:] = U0
            eq[:] = ~U0
            for j in range(width - 1, -1, -1):
                m = U0 - np.uint64((t >> j) & 1)
                pj = pl[j]
                for w in range(nw):
                    p = pj[w]
                    lt[w] |= eq[w] & ~p & m
                    eq[w] &= ~(p ^ m)
            row[:] = lt
            row[nw - 1] &= tail


@njit(parallel=True, cache=True)
def _lookup_counts(thr, src, counts, out):
    """out[s] = counts[src[s % len(src)], thr[s]], source-major like _lookup."""
    nsrc = src.shape[0]
    top = counts.shape[1] - 1
    for p in prange(nsrc):
        row = counts[src[p]]
        for s in range(p, out.shape[0], nsrc):
            out[s] = row[min(max(thr[s], 0), top)]


@njit(parallel=True, cache=True)
def _lookup(thr, src, table, out):
    """out[s] = table[src[s % len(src)], thr[s]] (thresholds clipped to the table).

    Source-major: all streams of one source slot (one per image of the batch) are copied
    together, so only that source's rows (2^w + 1 streams, ~130 KB at L = 1024) are being read
    instead of every source's table at once; the same bits in a cache-friendly order."""
    nsrc = src.shape[0]
    top = table.shape[1] - 1
    n = out.shape[0]
    for p in prange(nsrc):
        tab = table[src[p]]
        for s in range(p, n, nsrc):
            out[s, :] = tab[min(max(thr[s], 0), top)]


def encode_thresholds(thr: np.ndarray, src: np.ndarray, bank: SourceBank) -> np.ndarray:
    """Streams (len(thr), W) for integer thresholds (clipped to [0, 2^width]); stream s uses src[s % len(src)]."""
    thr, src = np.asarray(thr), np.asarray(src)
    for name, a in (("thresholds", thr), ("source indices", src)):
        if a.size and not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.bool_)):
            raise InvalidInputError(f"encode_thresholds needs integer {name}, got dtype {a.dtype}.")
    thr = np.ascontiguousarray(thr, dtype=np.int64).reshape(-1)
    src = np.ascontiguousarray(src, dtype=np.int64).reshape(-1)
    out = np.empty((thr.size, n_words(bank.length)), dtype=np.uint64)
    if thr.size == 0:
        return out
    if src.size == 0 or src.min() < 0 or src.max() >= bank.n_sources:
        got = "none" if src.size == 0 else f"{src.min()}..{src.max()}"
        raise InvalidInputError(f"encode_thresholds needs source indices in 0..{bank.n_sources - 1} (the "
                                f"bank's sources); got {got}.")
    if bank.table is not None:
        _lookup(thr, src, bank.table, out)
    elif (thr.size % src.size == 0 and thr.size // src.size >= 8 and src.size >= numba.get_num_threads()
          and vector_words(out.shape[1])):  # several images of each source, a source per thread at least
        _encode_by_source(thr, src, np.ascontiguousarray(bank.planes), bank.width, tail_mask(bank.length),
                          thr.size // src.size, out)
    else:
        _encode(thr, src, bank.planes, bank.width, tail_mask(bank.length), out)
    return out


@njit(parallel=True, cache=True)
def _encode_by_source(thr, src, planes, width, tail, n_img, out):
    """_encode's streams when thr holds n_img images of len(src) elements each (an image's
    element k uses source src[k]): a source's images go 8 at a time through compare_images, its
    planes read once for all of them, several comparator chains in flight (one stream at a time
    waits on each plane's dependent steps)."""
    ne = src.shape[0]
    nw = out.shape[1]
    pf, df = planes.reshape(-1), out.reshape(-1)
    for k in prange(ne):
        pcs = np.empty(8, dtype=np.uint64)  # compare_images' popcounts, not needed here
        base = src[k] * width * nw
        for i0 in range(0, n_img, 8):
            compare_images(pf, base, thr, i0 * ne + k, ne, min(8, n_img - i0), width, nw, df, (i0 * ne + k) * nw,
                           ne * nw, pcs, 0, 1, tail)

