"""sc_accel.bits, the ground floor: word counts, tail masks and stream counts on small
cases whose answers are worked out by hand (bit t of a stream is bit t % 64 of word t // 64)."""

import numpy as np
import pytest
from numba import njit

from sc_accel.bits import (MAX_STREAM_LENGTH, n_words, pack_bits, popcount64, rotl, stream_counts, tail_mask,
                           unpack_bits)
from sc_accel.errors import InvalidInputError


@pytest.mark.parametrize("length,words", [(1, 1), (63, 1), (64, 1), (65, 2), (128, 2), (129, 3),
                                          (MAX_STREAM_LENGTH, 1 << 26)])
def test_n_words(length, words):
    assert n_words(length) == words


@pytest.mark.parametrize("length,mask", [(1, 0x1), (3, 0x7), (64, 0xFFFFFFFFFFFFFFFF), (65, 0x1),
                                         (70, 0x3F), (127, 0x7FFFFFFFFFFFFFFF), (128, 0xFFFFFFFFFFFFFFFF)])
def test_tail_mask(length, mask):
    got = tail_mask(length)
    assert got.dtype == np.uint64 and int(got) == mask


@pytest.mark.parametrize("length", [0, -1, 2.5, MAX_STREAM_LENGTH + 1])
def test_word_helpers_refuse_bad_lengths(length):
    with pytest.raises(InvalidInputError, match="stream length"):
        n_words(length)
    with pytest.raises(InvalidInputError, match="stream length"):
        tail_mask(length)


def test_stream_counts_by_hand():
    # stream 0, length 70: word 0 = 0b1011 (3 ones), word 1 = bits 64, 65 and 69 set (3 ones)
    # plus bit 70 and bit 127 past the tail, which the counter must ignore -> 6
    # stream 1: every bit set in both words -> 70 real ones
    words = np.array([[0b1011, (1 << 0) | (1 << 1) | (1 << 5) | (1 << 6) | (1 << 63)],
                      [0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF]], dtype=np.uint64)
    assert stream_counts(words, 70).tolist() == [6, 70]
    assert stream_counts(words[:, :1], 64).tolist() == [3, 64]
    assert stream_counts(words[:, :1], 2).tolist() == [2, 2]  # 0b11 of 0b1011
    assert stream_counts(words.reshape(2, 1, 2), 70).shape == (2, 1)


def test_stream_counts_refuses_what_is_not_packed():
    with pytest.raises(InvalidInputError, match="packed np.uint64"):
        stream_counts(np.zeros((2, 1), dtype=np.int64), 64)
    with pytest.raises(InvalidInputError, match="need 2 words"):
        stream_counts(np.zeros((2, 1), dtype=np.uint64), 65)


def test_pack_layout_is_lsb_first():
    bits = np.zeros(66, dtype=bool)
    bits[[0, 2, 64]] = True
    words = pack_bits(bits)
    assert words.tolist() == [0b101, 0b1]
    assert np.array_equal(unpack_bits(words, 66), bits)


def test_popcount_and_rotl_by_hand():
    pc = njit(lambda x: popcount64(x))
    rot = njit(lambda x, r, w: rotl(x, r, w))
    assert [int(pc(np.uint64(x))) for x in (0, 1, 0b1011, 2**64 - 1)] == [0, 1, 3, 64]
    assert int(rot(np.uint64(0b1001), 1, 4)) == 0b0011  # the top bit wraps to bit 0
    assert int(rot(np.uint64(0b1001), 0, 4)) == 0b1001
