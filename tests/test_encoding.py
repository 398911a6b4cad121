"""Tests for secagg.encoding: floats <-> Z_2^b, clipping, rounding, weighted means."""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from secagg.encoding import (
    EncodedUpdate,
    Layout,
    UpdateCodec,
    UpdateReusedError,
    bits_for_bound,
    choose_bits,
    clip_coordinates,
    clip_l2,
    from_ring_centred,
    stochastic_round,
    to_ring,
)
from secagg.exceptions import ClippingWarning, InvalidInputError
from secagg.quantization import clip_coordinates_in_place, round_in_place, to_ring_parts


def ring_sum(vectors: list[np.ndarray], bits: int) -> np.ndarray:
    """Sum ring vectors modulo 2^b (reference, in Python integers)."""
    total = [0] * vectors[0].size
    for v in vectors:
        for i, w in enumerate(v.tolist()):
            total[i] = (total[i] + int(w)) % (1 << bits)
    dtype = np.uint32 if bits <= 32 else np.uint64
    return np.array(total, dtype=dtype)


@contextlib.contextmanager
def no_clipping_warning() -> Iterator[None]:
    """Turn any ClippingWarning inside the block into a failure."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ClippingWarning)
        yield


shapes = st.lists(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), min_size=1, max_size=4)


@given(
    shapes=shapes,
    data=st.data(),
    n=st.integers(1, 6),
    scale=st.sampled_from([2.0**8, 2.0**16, 1000.0]),
)
@settings(max_examples=60)
def test_weighted_mean_round_trip(shapes, data, n, scale):
    """Decoding the ring sum of n encoded updates restores shapes, dtypes and the
    weighted mean within n rounding steps per coordinate."""
    dtypes = [data.draw(st.sampled_from([np.float32, np.float64])) for _ in shapes]
    updates, weights = [], []
    for _ in range(n):
        arrays = [
            data.draw(hnp.arrays(dt, s, elements=st.floats(-1, 1, width=32)))
            for s, dt in zip(shapes, dtypes, strict=True)
        ]
        updates.append(arrays)
        weights.append(data.draw(st.integers(1, 50)))
    layout = Layout.of(updates[0])
    codec = UpdateCodec(layout, clip=1.0, scale=scale, n_max=n, max_weight=50)
    rng = np.random.default_rng(1)
    encoded = [codec.encode(u, w, rng) for u, w in zip(updates, weights, strict=True)]
    words = ring_sum([e.take() for e in encoded], codec.bits)
    mean, total_w = codec.decode_mean(words, n)
    assert total_w == sum(weights)
    expected = sum(w * layout.flatten(u) for u, w in zip(updates, weights, strict=True)) / sum(
        weights
    )
    got = layout.flatten([m.astype(dt) for m, dt in zip(mean, dtypes, strict=True)])
    assert [m.shape for m in mean] == [tuple(s) for s in shapes]
    assert [m.dtype for m in mean] == [np.dtype(dt) for dt in dtypes]
    tol = n / scale / sum(weights) * 1.0001 + 1e-6  # n roundings of < 1 step each
    assert np.all(np.abs(got - expected) <= tol)


@given(
    values=hnp.arrays(np.int64, st.integers(0, 20), elements=st.integers(-(2**20), 2**20)),
    bits=st.integers(22, 64),
)
def test_ring_embedding_round_trip(values, bits):
    """to_ring then from_ring_centred is the identity on the centred range."""
    words = to_ring(values, bits)
    assert words.dtype == (np.uint32 if bits <= 32 else np.uint64)
    assert np.array_equal(from_ring_centred(words, bits), values)


@given(
    clip=st.floats(1e-3, 10),
    scale=st.floats(1, 2.0**20),
    n=st.integers(1, 1000),
    data=st.data(),
)
def test_choose_bits_sum_never_wraps(clip, scale, n, data):
    """The extreme sum n * ceil(clip * scale) (either sign) fits the chosen width."""
    bits = choose_bits(clip, scale, n)
    extreme = n * math.ceil(clip * scale)
    assert extreme <= 2 ** (bits - 1) - 1
    # and it is the least such width
    assert bits == 2 or extreme > 2 ** (bits - 2) - 1
    sign = data.draw(st.sampled_from([-1, 1]))
    words = to_ring(np.array([sign * extreme]), bits)
    assert from_ring_centred(words, bits)[0] == sign * extreme


def test_choose_bits_refuses_more_than_64():
    """A configuration needing more than 64 bits raises InvalidInputError with the count."""
    with pytest.raises(InvalidInputError, match="64"):
        choose_bits(1.0, 2.0**52, 2**20)
    with pytest.raises(InvalidInputError, match="2\\^52"):
        choose_bits(1.0, 2.0**60, 2)
    with pytest.raises(InvalidInputError):
        bits_for_bound(2**63)
    assert bits_for_bound(2**63 - 1) == 64


@pytest.mark.parametrize(
    "args",
    [(0.0, 1.0, 1), (1.0, -1.0, 1), (1.0, 1.0, 0), (float("nan"), 1.0, 1), (1.0, 1.0, 1.5)],
)
def test_choose_bits_rejects_bad_parameters(args):
    """Non-positive or non-finite clip/scale and a bad n are refused."""
    with pytest.raises(InvalidInputError):
        choose_bits(*args)


def test_to_ring_refuses_out_of_range():
    """A value outside the centred range is refused rather than silently aliased."""
    with pytest.raises(InvalidInputError, match="centred range"):
        to_ring(np.array([128]), 8)
    with pytest.raises(InvalidInputError, match="centred range"):
        to_ring(np.array([-129]), 8)
    assert to_ring(np.array([-128, 127]), 8).tolist() == [128, 127]


def test_from_ring_refuses_words_beyond_b():
    """A word >= 2^b or a signed array is refused."""
    with pytest.raises(InvalidInputError):
        from_ring_centred(np.array([256], dtype=np.uint32), 8)
    with pytest.raises(InvalidInputError):
        from_ring_centred(np.array([1], dtype=np.int64), 8)


def test_clipping_is_reported():
    """Clipped coordinates are counted in the encoded update, never silently dropped."""
    layout = Layout.of([np.zeros(4)])
    codec = UpdateCodec(layout, clip=1.0, scale=16.0, n_max=1)
    with pytest.warns(ClippingWarning):
        enc = codec.encode([np.array([0.5, 2.0, -3.0, 1.0])], 1.0, np.random.default_rng(0))
    assert enc.clipped_fraction == 0.5
    mean, _ = codec.decode_mean(enc.take(), 1)
    assert mean[0].tolist() == [0.5, 1.0, -1.0, 1.0]


def test_stochastic_rounding_is_unbiased():
    """The mean of many roundings of 0.3 is 0.3 within 6 standard errors."""
    v = np.full(200_000, 0.3)
    r = stochastic_round(v, np.random.default_rng(5))
    assert set(np.unique(r).tolist()) <= {0, 1}
    se = math.sqrt(0.3 * 0.7 / v.size)
    assert abs(r.mean() - 0.3) < 6 * se


def test_stochastic_rounding_default_randomness_is_fresh():
    """Without an injected generator, two roundings of the same vector differ."""
    v = np.full(256, 0.5)
    assert not np.array_equal(stochastic_round(v), stochastic_round(v))


def test_conditional_rounding_respects_l2_bound():
    """With l2_bound every accepted draw has norm within the bound; an impossible
    bound raises."""
    v = np.full(100, 0.5)
    r = stochastic_round(v, np.random.default_rng(2), l2_bound=6.0)
    assert np.linalg.norm(r) <= 6.0
    with pytest.raises(InvalidInputError, match="too tight"):
        stochastic_round(v, np.random.default_rng(2), l2_bound=0.5, max_tries=5)


def test_l2_clip():
    """clip_l2 shortens long vectors to the norm and leaves short ones alone."""
    x, clipped = clip_l2(np.array([3.0, 4.0]), 1.0)
    assert clipped and math.isclose(np.linalg.norm(x), 1.0)
    y, clipped = clip_l2(np.array([0.3, 0.4]), 1.0)
    assert not clipped and y.tolist() == [0.3, 0.4]


def test_encoded_update_refuses_second_use():
    """An encoded update hands out its words once; a second take raises."""
    layout = Layout.of([np.zeros(3, dtype=np.float32)])
    codec = UpdateCodec(layout, clip=1.0, scale=8.0, n_max=2)
    enc = codec.encode([np.ones(3, dtype=np.float32)])
    assert isinstance(enc, EncodedUpdate) and not enc.used
    enc.take()
    assert enc.used
    with pytest.raises(UpdateReusedError, match="re-encode"):
        enc.take()
    assert "used" in repr(enc)


def test_bad_updates_are_refused():
    """NaN, a wrong shape, a wrong dtype, a wrong count and a bad weight all raise."""
    layout = Layout.of([np.zeros((2, 2))])
    codec = UpdateCodec(layout, clip=1.0, scale=8.0, n_max=2, max_weight=5)
    with pytest.raises(InvalidInputError, match="NaN"):
        codec.encode([np.array([[np.nan, 0], [0, 0]])])
    with pytest.raises(InvalidInputError, match="shape"):
        codec.encode([np.zeros(4)])
    with pytest.raises(InvalidInputError, match="dtype"):
        codec.encode([np.zeros((2, 2), dtype=np.float32)])
    with pytest.raises(InvalidInputError, match="expected 1 arrays"):
        codec.encode([np.zeros((2, 2)), np.zeros(1)])
    with pytest.raises(InvalidInputError, match="weight"):
        codec.encode([np.zeros((2, 2))], weight=6)
    with pytest.raises(InvalidInputError):
        Layout.of([np.zeros(2, dtype=np.int32)])
    with pytest.raises(InvalidInputError):
        Layout.of([])


def test_non_numeric_l2_clip_is_refused_by_name():
    """A non-numeric l2_clip is an InvalidInputError naming l2_clip, never a TypeError."""
    layout = Layout.of([np.zeros(3)])
    with pytest.raises(InvalidInputError, match="l2_clip must be a positive finite number"):
        UpdateCodec(layout, clip=1.0, scale=8.0, n_max=2, l2_clip="x")


def test_decode_refuses_wrong_length_and_zero_weight():
    """Decoding checks the vector length and dtype and refuses a zero total weight."""
    layout = Layout.of([np.zeros(3)])
    codec = UpdateCodec(layout, clip=1.0, scale=8.0, n_max=2)
    with pytest.raises(InvalidInputError, match="length 4"):
        codec.decode_mean(np.zeros(3, dtype=codec.dtype), 2)
    with pytest.raises(InvalidInputError, match="dtype"):
        codec.decode_mean(np.zeros(4, dtype=np.uint64 if codec.bits <= 32 else np.uint32), 2)
    with pytest.raises(InvalidInputError, match="positive total weight"):
        codec.decode_mean(np.zeros(4, dtype=codec.dtype), 2)


def test_noise_must_fit_its_bound():
    """Integer noise beyond noise_bound is refused (the sum could otherwise wrap)."""
    layout = Layout.of([np.zeros(3)])
    codec = UpdateCodec(layout, clip=1.0, scale=8.0, n_max=2, l2_clip=1.0, noise_bound=10)
    ok = codec.encode([np.zeros(3)], noise=lambda d, g: np.full(d.shape, 10, dtype=np.int64))
    total, w = codec.decode_sum(ok.take(), 1)
    assert w == 1.0 and np.all(np.abs(total - 10 / 8) <= 1 / 8 + 1e-12)
    with pytest.raises(InvalidInputError, match="noise_bound"):
        codec.encode([np.zeros(3)], noise=lambda d, g: np.full(d.shape, 11, dtype=np.int64))


def test_dp_path_clips_l2_and_bounds_rounded_norm():
    """The L2-clipped path reports clipping and keeps the rounded norm within its bound."""
    layout = Layout.of([np.zeros(50)])
    codec = UpdateCodec(layout, clip=10.0, scale=100.0, n_max=5, l2_clip=1.0)
    q = codec.quantize([np.full(50, 1.0)], 1.0, np.random.default_rng(3))
    assert q.norm_clipped
    assert np.linalg.norm(q.values) <= codec.rounded_l2_bound
    with pytest.raises(InvalidInputError, match="unit weights"):
        UpdateCodec(layout, clip=1.0, scale=8.0, n_max=2, l2_clip=1.0, max_weight=2.0)


def test_float16_and_scalar_arrays_keep_their_dtype_and_shape():
    """Half-precision and 0-d arrays come back with their dtype and shape."""
    update = [np.array(0.5, dtype=np.float16), np.full((2, 3), -0.25, dtype=np.float16)]
    layout = Layout.of(update)
    codec = UpdateCodec(layout, clip=1.0, scale=1024.0, n_max=1)
    mean, w = codec.decode_mean(codec.encode(update, 1.0).take(), 1)
    assert w == 1.0
    assert [m.dtype for m in mean] == [np.dtype(np.float16)] * 2
    assert mean[0].shape == () and mean[1].shape == (2, 3)
    assert float(mean[0]) == 0.5 and np.all(mean[1] == np.float16(-0.25))


# ---------------------------------------------------------------- sums over n_max, configs


def test_sum_over_more_clients_than_n_max_is_refused():
    """Eight updates of 0.9 summed in a ring sized for n_max = 2 wrap to a mean of
    about -0.1; decoding that sum is refused, whether the caller says 8 summands
    or claims only 2."""
    layout = Layout.of([np.zeros(1)])
    codec = UpdateCodec(layout, clip=1.0, scale=2.0**10, n_max=2, max_weight=1)
    rng = np.random.default_rng(7)
    words = ring_sum([codec.encode([np.full(1, 0.9)], 1.0, rng).take() for _ in range(8)], 13)
    assert codec.bits == 13
    # What a decoder without the check returns: the sum wrapped around 2^13.
    wrapped = from_ring_centred(words, codec.bits)[0] / codec.scale / 8
    assert -0.11 < wrapped < -0.09
    with pytest.raises(InvalidInputError, match="over 8 clients.*n_max = 2"):
        codec.decode_mean(words, 8)
    with pytest.raises(InvalidInputError, match="beyond what 2 updates"):
        codec.decode_mean(words, 2)
    for bad in (0, -1, True, 2.0):
        with pytest.raises(InvalidInputError, match="summand"):
            codec.decode_sum(words, bad)


@given(
    n_max=st.integers(1, 6),
    data=st.data(),
    scale=st.sampled_from([3.0, 2.0**8, 1000.0]),
    dp=st.booleans(),
)
@settings(max_examples=60)
def test_extreme_sums_within_n_max_decode_exactly(n_max, data, scale, dp):
    """The decoder's range check never refuses a genuine sum: any 1..n_max updates
    at the clip bound with the largest weight (or, on the DP path, the largest
    noise) decode to the reference sum computed in Python integers."""
    summands = data.draw(st.integers(1, n_max))
    layout = Layout.of([np.zeros(5)])
    if dp:
        codec = UpdateCodec(layout, 2.0, scale, n_max, l2_clip=1.0, noise_bound=7)
    else:
        codec = UpdateCodec(layout, 2.0, scale, n_max, max_weight=37)
    rng = np.random.default_rng(summands)
    ints, encoded = [], []
    for _ in range(summands):
        signs = np.array(data.draw(st.lists(st.sampled_from([-5.0, 5.0]), min_size=5, max_size=5)))
        noise = None
        if dp:
            e = np.array(data.draw(st.lists(st.sampled_from([-7, 7]), min_size=5, max_size=5)))
            noise = lambda d, g, e=e: e  # noqa: E731
        with pytest.warns(ClippingWarning) if not dp else no_clipping_warning():
            enc = codec.encode([signs], 1.0 if dp else 37.0, rng, noise)
        words = enc.take()
        ints.append(from_ring_centred(words, codec.bits))
        encoded.append(words)
    total, weight = codec.decode_sum(ring_sum(encoded, codec.bits), summands)
    reference = sum(int_vec.astype(object) for int_vec in ints)
    assert total.tolist() == [int(v) / scale for v in reference[:-1]]
    assert weight == int(reference[-1])


def test_check_codec_names_each_mismatch():
    """check_codec / UpdateCodec.check_config accept a fitting Config and name the
    ring width, the length and the client count of a mismatched one with both
    values; a sum from a wider ring points to the check."""
    from secagg.encoding import check_codec
    from secagg.protocol.config import Config

    layout = Layout.of([np.zeros(3)])
    codec = UpdateCodec(layout, clip=1.0, scale=2.0**10, n_max=4, max_weight=1)
    b, m = codec.bits, codec.length
    codec.check_config(Config(n=4, t=3, n_min=3, k=3, b=b, m=m))
    check_codec(codec, Config(n=3, t=2, n_min=2, k=2, b=b, m=m))
    with pytest.raises(
        InvalidInputError, match=rf"ring width is b = {b} but the config's is b = 21"
    ):
        codec.check_config(Config(n=4, t=3, n_min=3, k=3, b=21, m=m))
    with pytest.raises(InvalidInputError, match=r"vector length is 4 but the config's is m = 5"):
        codec.check_config(Config(n=4, t=3, n_min=3, k=3, b=b, m=5))
    with pytest.raises(InvalidInputError, match=r"at most 4 clients but the config has n = 6"):
        codec.check_config(Config(n=6, t=4, n_min=4, k=5, b=b, m=m))
    with pytest.raises(InvalidInputError, match="b = .*; its vector length .*; it was sized"):
        codec.check_config(Config(n=6, t=4, n_min=4, k=5, b=21, m=5))
    with pytest.raises(InvalidInputError, match="integer n, b and m"):
        codec.check_config(object())  # type: ignore[arg-type]
    wide = np.array([16305356, 0, 0, 1], dtype=codec.dtype)
    with pytest.raises(
        InvalidInputError, match=rf"wider ring than the codec's b = {b}.*check_codec"
    ):
        codec.decode_sum(wide, 1)


def test_sample_count_weights_work_with_default_max_weight():
    """Without max_weight, weights up to 2^16 (sample counts such as 1500) encode
    and decode to the weighted mean; the DP path keeps unit weights."""
    from secagg.encoding import DEFAULT_MAX_WEIGHT

    layout = Layout.of([np.zeros(2)])
    codec = UpdateCodec(layout, clip=1.0, scale=2.0**10, n_max=3)
    assert codec.max_weight == DEFAULT_MAX_WEIGHT == 2**16
    weights = [1500, 250, 2**16]
    xs = [np.array([0.5, -0.25]), np.array([1.0, 0.0]), np.array([-0.125, 0.75])]
    rng = np.random.default_rng(11)
    encoded = [codec.encode([x], w, rng).take() for x, w in zip(xs, weights, strict=True)]
    words = ring_sum(encoded, codec.bits)
    mean, total = codec.decode_mean(words, 3)
    expected = sum(w * x for w, x in zip(weights, xs, strict=True)) / sum(weights)
    assert total == sum(weights)
    assert np.all(np.abs(mean[0] - expected) <= 3 / 2.0**10 / sum(weights) + 1e-12)
    with pytest.raises(InvalidInputError, match="max_weight = 65536"):
        codec.encode([xs[0]], 2**16 + 1)
    assert UpdateCodec(layout, 1.0, 8.0, 2, l2_clip=1.0).max_weight == 1.0


def test_clipping_warns_above_the_threshold_only():
    """encode issues a ClippingWarning (a SecAggWarning naming fraction and clip) when
    more than CLIP_WARN_FRACTION = 1 % of coordinates are clipped, none at exactly
    1 %, and none for L2 clipping on the DP path."""
    import secagg
    from secagg.encoding import CLIP_WARN_FRACTION

    assert CLIP_WARN_FRACTION == 0.01
    assert issubclass(ClippingWarning, secagg.SecAggWarning)
    assert issubclass(secagg.SecAggWarning, UserWarning)
    assert secagg.ClippingWarning is ClippingWarning
    layout = Layout.of([np.zeros(200)])
    codec = UpdateCodec(layout, clip=0.5, scale=64.0, n_max=1, max_weight=1)
    at_threshold = np.zeros(200)
    at_threshold[:2] = 3.0
    with no_clipping_warning():
        assert codec.encode([at_threshold]).clipped_fraction == 0.01
    above = at_threshold.copy()
    above[2] = -3.0
    message = r"\[-0\.5, 0\.5\] changed 1\.50 % of the update's 200"
    with pytest.warns(ClippingWarning, match=message):
        codec.encode([above])
    dp = UpdateCodec(layout, 0.5, 64.0, 1, l2_clip=0.5)
    with no_clipping_warning():
        assert dp.encode([np.full(200, 0.4)]).norm_clipped


def test_api_doc_encoding_example_runs():
    """The encoding block of docs/api.md runs as written: sample-count weights with the
    default max_weight, one dropout, and a mean decoded over the survivors."""
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "api.md").read_text()
    section = doc.split("## Float model updates", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, "docs/api.md", "exec"), namespace)
    result, samples, updates = namespace["result"], namespace["samples"], namespace["updates"]
    assert result.survivors == frozenset({1, 2, 3, 5}) and namespace["codec"].bits == 30
    assert namespace["total_weight"] == sum(samples[u] for u in result.survivors)
    for i, got in enumerate(namespace["mean"]):
        expected = sum(samples[u] * updates[u][i] for u in result.survivors)
        expected = expected / namespace["total_weight"]
        assert np.all(np.abs(got - expected) <= 4 / 2.0**10 / namespace["total_weight"] + 1e-12)


# ------------------------------------------------------ in-place fast paths

_floats = hnp.arrays(
    np.float64,
    st.integers(0, 300),
    elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=80, deadline=None)
@given(_floats, st.integers(0, 2**32))
def test_round_in_place_is_stochastic_round(v, seed):
    """The in-place rounding draws and returns exactly what stochastic_round does."""
    want = stochastic_round(v, np.random.default_rng(seed))
    got = round_in_place(v.copy(), np.random.default_rng(seed))
    assert got.dtype == np.int64 and np.array_equal(got, want)


@settings(max_examples=80, deadline=None)
@given(_floats, st.floats(1e-3, 1e5))
def test_clip_in_place_is_clip_coordinates(v, clip):
    """Clipping in place gives the values and clipped fraction of clip_coordinates."""
    want, want_frac = clip_coordinates(v, clip)
    got, frac = clip_coordinates_in_place(v.copy(), clip)
    assert np.array_equal(got, want) and frac == want_frac


def test_clip_in_place_keeps_nan_like_clip_coordinates():
    """A NaN is neither counted nor clipped, by either function."""
    v = np.array([0.5, np.nan, -3.0, 9.0])
    want, want_frac = clip_coordinates(v, 1.0)
    got, frac = clip_coordinates_in_place(v.copy(), 1.0)
    assert np.array_equal(got, want, equal_nan=True) and frac == want_frac == 0.5


@settings(max_examples=80, deadline=None)
@given(
    st.integers(1, 64),
    st.lists(
        hnp.arrays(np.int64, st.integers(0, 50), elements=st.integers(-(2**20), 2**20)),
        min_size=1,
        max_size=3,
    ),
)
def test_to_ring_parts_is_to_ring_of_the_concatenation(bits, parts):
    """Embedding parts one after another equals embedding their concatenation, refusals too."""
    joined = np.concatenate(parts)
    try:
        want = to_ring(joined, bits)
    except InvalidInputError as exc:
        with pytest.raises(InvalidInputError, match="centred range") as info:
            to_ring_parts(parts, bits)
        assert str(info.value) == str(exc)
        return
    got = to_ring_parts(parts, bits)
    assert got.dtype == want.dtype and np.array_equal(got, want)


def test_flatten_accepts_finite_values_whose_sum_overflows():
    """Finite values are accepted even when their float sum overflows; NaN and inf are not."""
    layout = Layout(((3,),), (np.dtype(np.float64),))
    big = np.array([1.7e308, 1.7e308, -1.0])
    assert np.array_equal(layout.flatten([big]), big)
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(InvalidInputError, match="NaN or infinite"):
            layout.flatten([np.array([1.0, bad, 2.0])])
