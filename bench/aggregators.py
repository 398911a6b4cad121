"""Aggregation paths on one input: packed Paillier, one ciphertext per value, masking,
multi-server sharing.

``python -m bench.aggregators [--dim 100000] [--clients 3] [--bits 32]
[--key-bits 2048] [--holders 5] [--threshold 3] [--sample 200] [--servers 2]
[--skip threshold per-value masking multiserver]``

Every client holds m random words of Z_2^b (the masking path's input; the
Paillier clients pack the same words). Prints one JSON line per metric:

- ``machine``; ``keygen_s`` for the key holder's key and, separately, the
  dealer's t-of-w committee key (safe primes, 2048 bits by default);
- packed Paillier (``path: paillier_packed``), per client: ``table_s`` (the
  fixed-base table, once per key and process), ``client_encrypt_s`` (pack and
  encrypt), ``client_prove_s`` (the batched proof), ``client_sign_s``,
  ``proof_verify_s`` (one client's proof, as the server and every decrypting
  party check it) and ``bundle_bytes``; for the server ``server_receive_s``
  (all bundles, checks included) and ``server_aggregate_s`` (multiplying the
  ciphertexts only); ``keyholder_decrypt_s`` (policy and decryption) with
  its part ``decrypt_only_s``; with a committee, ``threshold_share_s`` per
  member (policy, shares and proof), ``threshold_share_proof_s``,
  ``threshold_share_verify_s`` and ``threshold_combine_s`` (t proofs verified
  and combined);
- one ciphertext per value with plain phe (``path: paillier_per_value``):
  ``client_encrypt_s``, ``server_aggregate_s`` and ``decrypt_s``, each
  **measured on --sample values and extrapolated to m + 1 values**
  (``extrapolated: true`` says so);
- the masking path (``path: masking``): one :func:`secagg.protocol.runner.run_round`,
  ``client_s`` (per client), ``server_s`` and ``round_s``;
- multi-server additive sharing (``path: multiserver``): one
  :func:`secagg.multiserver.run_session` with ``--servers`` servers,
  ``client_s`` (one client's split, seals and signature; the mean over the
  clients), ``server_s`` per server (checking every bundle, then its signed
  partial sum), ``combine_s``, ``round_s`` (key set-up included) and
  ``bundle_bytes`` (all of one client's bundles together);
- last, ``{"metric": "paillier_packed_speedup", "value": ...}``: client
  encryption time one-per-value over packed, same key size.

Clients run one after another in this process; per-client figures are
medians over the clients (means for multi-server, whose runner times the
clients together). Sums are checked against numpy. The client-cost
comparison of multi-server sharing against masking at m = 10^6 is
``python -m bench.multiserver``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import gmpy2
import numpy as np
import phe

from secagg import crypto
from secagg.multiserver import run_session
from secagg.paillier import (
    ClientBundle,
    CommitteeMember,
    Encryptor,
    KeyHolder,
    PrivateKey,
    SessionParams,
    deal,
    generate_keypair,
)
from secagg.paillier.policy import check_request, multiply_slots
from secagg.paillier.proofs import prove_plaintexts, prove_share, verify_plaintexts
from secagg.paillier.roles import AggregationServer
from secagg.paillier.threshold import share_problem
from secagg.protocol.planner import session_config
from secagg.protocol.runner import run_round

from .core import machine_info

PATHS = ("threshold", "per-value", "masking", "multiserver")


def _emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _expected(inputs: dict[int, np.ndarray], bits: int) -> list[int]:
    total = sum(x.astype(object) for x in inputs.values())
    return [int(v) % (1 << bits) for v in total]


def bench_keys(args: argparse.Namespace) -> tuple[PrivateKey, Any]:
    """Key holder key and committee key, generated and timed separately."""
    testing = args.key_bits < 2048
    seconds, private = _timed(lambda: generate_keypair(args.key_bits, insecure_testing=testing))
    _emit({"metric": "keygen_s", "role": "key_holder", "key_bits": args.key_bits, "value": seconds})
    committee = None
    if "threshold" not in args.skip:
        seconds, committee = _timed(
            lambda: deal(
                args.key_bits,
                holders=args.holders,
                threshold=args.threshold,
                insecure_testing=testing,
            )
        )
        _emit(
            {
                "metric": "keygen_s",
                "role": f"dealer_{args.threshold}_of_{args.holders}",
                "key_bits": args.key_bits,
                "value": seconds,
            }
        )
    return private, committee


def _packed_clients(
    key: Any, params: SessionParams, inputs: dict[int, np.ndarray], signing: dict[int, bytes]
) -> tuple[AggregationServer, dict[str, list[float]]]:
    """Each client's steps, timed one by one (as PaillierClient.submit runs them); the server
    receives every bundle."""
    seconds, encryptor = _timed(lambda: Encryptor(key.encryption_key))
    times: dict[str, list[float]] = {"table_s": [seconds]}
    server = AggregationServer(
        key, params=params, registry={u: crypto.ed25519_public(s) for u, s in signing.items()}
    )
    pk = key.encryption_key
    layout = params.layout(pk)
    sid = params.session_id
    for u, words in inputs.items():
        t_enc, (plaintexts, (cts, alphas)) = _timed(
            lambda words=words: ((pts := layout.pack(words)), encryptor.encrypt_many(pts))
        )
        t_prove, proof = _timed(
            lambda u=u, cts=cts, plaintexts=plaintexts, alphas=alphas: prove_plaintexts(
                pk, encryptor.table, sid, u, cts, plaintexts, alphas
            )
        )
        unsigned = ClientBundle(sid, u, key.fingerprint, pk.nbytes, tuple(cts), proof, b"")
        t_sign, signature = _timed(
            lambda u=u, unsigned=unsigned: crypto.ed25519_sign(signing[u], unsigned.signed_bytes())
        )
        t_verify, reason = _timed(
            lambda u=u, cts=cts, proof=proof: verify_plaintexts(pk, sid, u, cts, proof)
        )
        assert reason is None, reason
        encoded = dataclasses.replace(unsigned, signature=signature).to_bytes()
        t_recv, _ = _timed(lambda encoded=encoded: server.receive(encoded))
        for name, value in (
            ("client_encrypt_s", t_enc),
            ("client_prove_s", t_prove),
            ("client_sign_s", t_sign),
            ("proof_verify_s", t_verify),
            ("server_receive_s", t_recv),
            ("bundle_bytes", float(len(encoded))),
        ):
            times.setdefault(name, []).append(value)
    return server, times


def bench_packed(
    args: argparse.Namespace,
    private: PrivateKey,
    committee: Any,
    inputs: dict[int, np.ndarray],
    signing: dict[int, bytes],
) -> float:
    """The packed path with a key holder, then with the committee; returns client encrypt s."""
    params = SessionParams(
        bytes(32), length=args.dim + 1, bits=args.bits, n_max=args.clients, n_min=2
    )
    registry = {u: crypto.ed25519_public(s) for u, s in signing.items()}
    expected = _expected(inputs, args.bits)
    holder = KeyHolder(private)
    layout = params.layout(holder.public_key)
    common = {"path": "paillier_packed", "key_bits": args.key_bits, "m": args.dim + 1}
    common |= {"b": args.bits, "n": args.clients, "slots": layout.slots}
    common["ciphertexts_per_client"] = layout.plaintexts
    server, times = _packed_clients(holder.public_key, params, inputs, signing)
    for name, values in times.items():
        per = "per_client" if name != "table_s" else "once_per_key"
        _emit({"metric": name, **common, "value": statistics.median(values), per: values})
    request = server.request()
    agg_s, _ = _timed(lambda: multiply_slots(holder.public_key, list(request.bundles)))
    _emit({"metric": "server_aggregate_s", **common, "value": agg_s})
    policy_s, verified = _timed(
        lambda: check_request(request, key=holder.public_key, params=params, registry=registry)
    )
    dec_s, _ = _timed(lambda: [private.decrypt(c) for c in verified.ciphertexts])
    total_s, result = _timed(lambda: holder.decrypt(request, params=params, registry=registry))
    assert result.words.tolist() == expected, "packed Paillier sum differs from numpy"
    _emit({"metric": "keyholder_decrypt_s", **common, "value": total_s, "policy_s": policy_s})
    _emit({"metric": "decrypt_only_s", **common, "value": dec_s})
    client_encrypt = statistics.median(times["client_encrypt_s"])
    if committee is None:
        return client_encrypt

    tpk, shares = committee
    t_common = common | {"holders": args.holders, "threshold": args.threshold}
    t_params = SessionParams(
        bytes([1]) * 32, length=args.dim + 1, bits=args.bits, n_max=args.clients, n_min=2
    )
    t_server, _ = _packed_clients(tpk, t_params, inputs, signing)
    t_request = t_server.request()
    members = [CommitteeMember(s) for s in shares[: args.threshold]]
    answers, share_times = [], []
    for member in members:
        seconds, answer = _timed(
            lambda member=member: member.decryption_share(
                t_request, params=t_params, registry=registry
            )
        )
        answers.append(answer)
        share_times.append(seconds)
    verify_s, reason = _timed(lambda: share_problem(tpk, t_request.aggregate, answers[0]))
    assert reason is None, reason
    proof_s, _ = _timed(
        lambda: prove_share(
            n_square=tpk.key.n_square,
            nbytes=tpk.key.nbytes,
            context=b"bench",
            v=tpk.v,
            ciphertexts=t_request.aggregate,
            shares=answers[0].shares,
            exponent=gmpy2.mpz(1),
            secret_bits=tpk.secret_bits,
        )
    )
    combine_s, combined = _timed(lambda: t_server.combine(answers))
    assert combined.result.words.tolist() == expected, "threshold sum differs from numpy"
    _emit(
        {
            "metric": "threshold_share_s",
            **t_common,
            "value": statistics.median(share_times),
            "per_member": share_times,
        }
    )
    _emit({"metric": "threshold_share_proof_s", **t_common, "value": proof_s})
    _emit({"metric": "threshold_share_verify_s", **t_common, "value": verify_s})
    _emit({"metric": "threshold_combine_s", **t_common, "value": combine_s})
    return client_encrypt


def bench_per_value(
    args: argparse.Namespace, key: PrivateKey, inputs: dict[int, np.ndarray]
) -> float:
    """One phe ciphertext per value, on a sample, extrapolated; returns client encrypt s."""
    public = phe.PaillierPublicKey(int(key.public_key.n))
    private = key.to_phe()
    count = args.dim + 1
    sample = min(args.sample, count)
    shift = 1 << args.bits
    half = shift >> 1
    values = {
        u: [int(w) - shift if int(w) >= half else int(w) for w in x[:sample]]
        for u, x in inputs.items()
    }
    enc_times, encrypted = [], {}
    for u, vals in values.items():
        seconds, encrypted[u] = _timed(lambda vals=vals: [public.encrypt(v) for v in vals])
        enc_times.append(seconds)
    agg_s, total = _timed(
        lambda: [
            sum((encrypted[u][j] for u in list(encrypted)[1:]), encrypted[next(iter(encrypted))][j])
            for j in range(sample)
        ]
    )
    dec_s, plain = _timed(lambda: [private.decrypt(c) for c in total])
    assert plain == [sum(values[u][j] for u in values) for j in range(sample)]
    common = {"path": "paillier_per_value", "key_bits": args.key_bits, "m": count}
    common |= {"extrapolated": True, "sample": sample, "library": f"phe {phe.__version__}"}
    scale = count / sample
    client = statistics.median(enc_times) * scale
    _emit({"metric": "client_encrypt_s", **common, "value": client})
    _emit({"metric": "server_aggregate_s", **common, "value": agg_s * scale})
    _emit({"metric": "decrypt_s", **common, "value": dec_s * scale})
    return client


def bench_per_value_fixed_base(args: argparse.Namespace, key: PrivateKey) -> float:
    """One ciphertext per value with this package's fixed-base encryption (sample, extrapolated).

    Separates what packing gains from what the fixed-base table gains.
    """
    encryptor = Encryptor(key.public_key)
    count = args.dim + 1
    sample = min(args.sample, count)
    offset = 1 << (args.bits - 1)
    seconds, _ = _timed(lambda: encryptor.encrypt_many([offset] * sample))
    value = seconds * count / sample
    common = {"path": "paillier_per_value_fixed_base", "key_bits": args.key_bits, "m": count}
    _emit(
        {
            "metric": "client_encrypt_s",
            **common,
            "extrapolated": True,
            "sample": sample,
            "value": value,
        }
    )
    return value


def bench_masking(args: argparse.Namespace, inputs: dict[int, np.ndarray]) -> None:
    """One masking round (semi-honest, complete graph) on the same words."""
    n = args.clients
    cfg = session_config(n, args.bits, args.dim + 1, dropout=0.0, corrupt=0.0, k=n - 1)
    words = {u: x.astype(cfg.dtype) for u, x in inputs.items()}
    result = run_round(cfg, words)
    assert result.aborted is None and result.sum is not None, result.aborted
    assert result.sum.tolist() == _expected(inputs, args.bits), "masking sum differs from numpy"
    client_s = sum(v for k, v in result.timings.items() if k.endswith(".client")) / n
    server_s = sum(v for k, v in result.timings.items() if k.endswith(".server"))
    common = {"path": "masking", "m": cfg.m, "b": cfg.b, "n": n}
    _emit({"metric": "client_s", **common, "value": client_s})
    _emit({"metric": "server_s", **common, "value": server_s})
    _emit({"metric": "round_s", **common, "value": result.timings["total"]})


def bench_multiserver(args: argparse.Namespace, inputs: dict[int, np.ndarray]) -> None:
    """One multi-server session (``--servers`` servers, n_min = 2) on the same words."""
    n = args.clients
    out = run_session(inputs, servers=args.servers, b=args.bits, n_min=2)
    assert out.aborted is None and out.sum is not None, out.aborted
    assert out.sum.tolist() == _expected(inputs, args.bits), "multi-server sum differs from numpy"
    common = {"path": "multiserver", "m": args.dim + 1, "b": args.bits, "n": n}
    common["servers"] = args.servers
    t = out.timings
    _emit({"metric": "client_s", **common, "value": t["client.split"] / n, "basis": "mean"})
    for j in range(args.servers):
        role = "correction" if j == args.servers - 1 else "seed"
        seconds = t[f"server.{j}.receive"] + t[f"server.{j}.release"]
        _emit({"metric": "server_s", **common, "server": j, "role": role, "value": seconds})
    _emit({"metric": "combine_s", **common, "value": t["combine"]})
    _emit({"metric": "round_s", **common, "value": t["total"]})
    sent = list(out.bytes_sent.values())
    _emit({"metric": "bundle_bytes", **common, "value": statistics.median(sent)})


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print JSON lines."""
    ap = argparse.ArgumentParser(prog="python -m bench.aggregators", description=__doc__)
    ap.add_argument("--dim", type=int, default=100_000, help="m data values (plus one weight)")
    ap.add_argument("--clients", type=int, default=3)
    ap.add_argument("--bits", type=int, default=32)
    ap.add_argument("--key-bits", type=int, default=2048, help="< 2048: insecure, tests only")
    ap.add_argument("--holders", type=int, default=5)
    ap.add_argument("--threshold", type=int, default=3)
    ap.add_argument("--sample", type=int, default=200, help="values timed per client (phe)")
    ap.add_argument("--servers", type=int, default=2, help="S of the multi-server path")
    ap.add_argument("--skip", nargs="*", default=[], choices=PATHS)
    ap.add_argument("--seed", type=int, default=1, help="input words only; keys use the OS CSPRNG")
    args = ap.parse_args(argv)

    info = machine_info()
    info |= {"gmpy2": gmpy2.version(), "phe": phe.__version__, "key_bits": args.key_bits}
    _emit(info)
    rng = np.random.default_rng(args.seed)
    dtype = np.uint32 if args.bits <= 32 else np.uint64
    inputs = {
        u: rng.integers(0, 1 << args.bits, size=args.dim + 1, dtype=np.uint64).astype(dtype)
        for u in range(1, args.clients + 1)
    }
    signing = {u: crypto.ed25519_keypair()[0] for u in inputs}
    private, committee = bench_keys(args)
    packed = bench_packed(args, private, committee, inputs, signing)
    if "masking" not in args.skip:
        bench_masking(args, inputs)
    if "multiserver" not in args.skip:
        bench_multiserver(args, inputs)
    if "per-value" not in args.skip:
        per_value = bench_per_value(args, private, inputs)
        fixed_base = bench_per_value_fixed_base(args, private)
        _emit(
            {
                "metric": "paillier_packing_speedup_same_encryption",
                "value": fixed_base / packed,
                "basis": "client encryption time, one fixed-base ciphertext per value "
                "(extrapolated) over packed: the gain of packing alone",
                "key_bits": args.key_bits,
            }
        )
        _emit(
            {
                "metric": "paillier_packed_speedup",
                "value": per_value / packed,
                "basis": "client encryption time, one phe ciphertext per value (extrapolated) "
                "over packed, same key size",
                "key_bits": args.key_bits,
            }
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
