"""``bytescope compare-annotations FILE``: do patch boundaries fall at gene starts?

Patches one whole record (the same options as ``bytescope patch``), then reports the fraction
of feature anchors (CDS, tRNA, rRNA starts by default; every feature when there are none of
those, as in a BED file) within ``--k`` bases of a patch start,
beside the same fraction for as many uniformly random boundaries (seeded draws) and its exact
expectation (:mod:`engine.patching.compare`).
"""

from __future__ import annotations

import argparse
import json

from engine.cli.arguments import count, positive_int
from engine.errors import InputError
from engine.io import open_annotations, open_sequences
from engine.io.entropy_files import load_entropies
from engine.io.formats import DEFAULT_MAX_BYTES
from engine.patching import Patcher
from engine.patching.compare import (
    ANCHORS,
    DEFAULT_K,
    DEFAULT_SEED,
    DEFAULT_TRIALS,
    DEFAULT_TYPES,
    boundary_agreement,
    choose_features,
)

from .patch import add_patch_options, check_config_fits, config_from_args, model_entropies


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare-annotations",
        help="fraction of gene starts near a patch boundary, beside random boundaries",
        description="Patch a whole record, then count the feature anchors (CDS/tRNA/rRNA "
        "starts) within K bases of a patch start, beside the same count for as many random "
        "boundaries drawn uniformly without replacement (seeded), and its exact expectation.",
    )
    p.add_argument("file", metavar="FILE", help="sequences (a GFF3 with ##FASTA brings its "
                   "own features)")
    p.add_argument("--annotations", metavar="GFF|BED|GBK",
                   help="features to compare with (added to FILE's own)")
    p.add_argument("--record", metavar="ID", help="record id (default: the first record)")
    p.add_argument("--k", type=count, default=DEFAULT_K, metavar="K",
                   help=f"a feature counts if a patch starts within K bases (default {DEFAULT_K})")
    p.add_argument("--anchor", choices=ANCHORS, default="start",
                   help="feature start coordinate, or its 5' end on its strand (default start)")
    p.add_argument("--types", metavar="T1,T2",
                   help=f"feature types (default {','.join(DEFAULT_TYPES)}; when the record "
                   "has none of those, as in a BED file, every feature)")
    p.add_argument("--trials", type=positive_int, default=DEFAULT_TRIALS, metavar="N",
                   help=f"random draws (default {DEFAULT_TRIALS})")
    p.add_argument("--seed", type=count, default=DEFAULT_SEED, help="seed of the random draws")
    add_patch_options(p, mode_required=False)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--max-bytes", type=positive_int, default=DEFAULT_MAX_BYTES, metavar="N",
                   help="largest raw-bytes file, and most a compressed file may inflate to "
                        "(default 1 GiB)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    types = None
    if args.types is not None:
        types = tuple(t for t in args.types.split(",") if t)
        if not types:
            raise InputError("--types names no feature type")
    with open_sequences(args.file, max_bytes=args.max_bytes) as sequences:
        if len(sequences) == 0:
            raise InputError("no sequence records to patch", path=args.file)
        record = sequences[args.record] if args.record is not None else sequences[0]
        check_config_fits(config, record.id, 0, len(record))
        annotated: list = []
        sources = [(str(args.file), list(record.features))]
        if args.annotations:
            annotated = open_annotations(args.annotations)
            sources.append((str(args.annotations),
                            [f for f in annotated if f.record_id == record.id]))
        sources = [(name, found) for name, found in sources if found]
        if not sources:
            raise _no_features(args, record.id, annotated)
        if types is not None:  # named types: any source may hold them
            every = [f for _, found in sources for f in found]
            sources = [(", ".join(name for name, _ in sources), every)]
        chosen = [(name, choose_features(found, record.length, types))
                  for name, found in sources]
        chosen = [(name, choice) for name, choice in chosen if choice.features]
        features = [f for _, choice in chosen for f in choice.features]
        if not chosen:
            raise InputError(f"every feature on record {record.id!r} covers the whole record: "
                             "no starts to compare with")
        compared = tuple(dict.fromkeys(t for _, choice in chosen for t in choice.types))
        length = record.length
        if config.needs_entropies:
            values = (load_entropies(args.entropies, record, 0, length) if args.entropies
                      else model_entropies(args, record, 0, length))
        else:
            values = record.array(0, length)
        result = Patcher(config).patch(values)
    _, starts, _ = result.byte_intervals()
    agreement = boundary_agreement(starts, features, length, k=args.k, types=compared,
                                   anchor=args.anchor, trials=args.trials, seed=args.seed)
    if args.json:
        payload = {"record": record.id, "file": str(args.file), "patcher": config.to_dict(),
                   "threshold": result.threshold, "mean_patch_length": result.mean_length}
        payload.update(agreement.to_dict())
        # the sources without CDS/tRNA/rRNA features, whose every feature is compared
        payload["all_features_of"] = [name for name, choice in chosen if choice.all_features]
        print(json.dumps(payload, indent=1))
        return 0
    a = agreement
    kinds = ", ".join(f"{t} {n}" for t, (n, _) in a.by_type.items())
    theta = "" if result.threshold is None else f", θ {result.threshold:.4g}"
    for name, choice in chosen:
        if choice.all_features:
            print(f"{name} has no {'/'.join(DEFAULT_TYPES)} features on {record.id}: comparing "
                  f"every one of its features ({len(choice.features):,})")
    print(f"{record.id} ({length:,} bases): {a.n_features} feature {args.anchor}s ({kinds}) "
          f"within {a.k} bases of a patch start")
    print(f"  patches  {a.n_boundaries:>9,} starts ({config.mode}, mean length "
          f"{result.mean_length:.2f}{theta}): {100 * a.observed:6.2f}%")
    print(f"  random   {a.n_boundaries:>9,} uniform starts ({a.trials} draws, seed {a.seed}): "
          f"{100 * a.random:6.2f}% ± {100 * a.random_sd:.2f}  (exact expectation "
          f"{100 * a.expected:.2f}%)")
    print(f"  enrichment {a.enrichment:.2f}x chance")
    return 0


def _no_features(args: argparse.Namespace, record_id: str, annotated: list) -> InputError:
    """Which file lacks features on the record, and where its features are, if anywhere."""
    if not args.annotations:
        return InputError(f"no features on record {record_id!r} (give --annotations "
                          "GFF|BED|GBK)", path=args.file)
    others = list(dict.fromkeys(f.record_id for f in annotated))
    where = ""
    if others:
        named = ", ".join(repr(r) for r in others[:3]) + (", ..." if len(others) > 3 else "")
        where = f"; its features are on {named}"
    return InputError(f"no features on record {record_id!r}{where}", path=args.annotations)
