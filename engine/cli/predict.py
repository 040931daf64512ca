"""``bytescope predict FILE --model RUN --out X.bed|X.bedgraph|X.h5``: a task head's calls."""

from __future__ import annotations

import argparse
import json
import sys

from engine.errors import InputError

OUTPUTS = (".bed", ".bedgraph", ".h5", ".tsv")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="a fine-tuned task head's predictions: per-base probabilities and called "
        "segments, or a class per sequence",
        description="Run a task model (a `bytescope train --task` run folder, its best "
        "checkpoint, or a checkpoint) over FILE. Per-base heads: --out X.h5 holds each "
        "record's per-base class probabilities (dataset per record, classes in its attributes), "
        "X.bed the called segments (runs of the most probable class other than the first, the "
        "background; score = 1000 x its mean probability), X.bedgraph one class's probability "
        "(--class). Sequence heads: X.tsv (or stdout) a line per record with each class's "
        "probability. Coordinates are 0-based half-open, as BED.",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--model", required=True, metavar="RUN",
                   help="a task run folder (its best checkpoint) or a checkpoint folder")
    p.add_argument("--record", metavar="ID", help="only this record (default: every record)")
    p.add_argument("--region", metavar="START-END",
                   help="only this stretch of --record (0-based half-open)")
    p.add_argument("--class", dest="klass", metavar="NAME",
                   help="the class a .bedgraph shows (default: the first after the background)")
    p.add_argument("--out", metavar="X.bed|X.bedgraph|X.h5|X.tsv",
                   help="where to write (default: a summary on stdout)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np

    from engine.analysis.predict import call_segments, predict_bases, predict_sequence
    from engine.cli.regions import parse_region
    from engine.io import open_sequences
    from engine.models.defaults import resolve_model_path
    from engine.models.heads import load_task_model
    from engine.threads import set_threads

    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() not in OUTPUTS:
        raise InputError(f"--out must end in {', '.join(OUTPUTS)}", path=out)
    if args.region and not args.record:
        raise InputError("--region needs --record")
    model = load_task_model(resolve_model_path(args.model))
    config = model.config
    set_threads()
    classes = config.classes
    if args.klass is not None and args.klass not in classes:
        raise InputError(f"no class {args.klass!r}: the model's classes are {', '.join(classes)}")
    shown = classes.index(args.klass) if args.klass else min(1, len(classes) - 1)
    with open_sequences(args.file) as sequences:
        records = list(sequences)
        if args.record:
            records = [r for r in records if r.id == args.record]
            if not records:
                raise InputError(f"no record {args.record!r}", path=args.file)
        if config.task == "sequence":
            rows = [(r.id, predict_sequence(model, r)) for r in records]
            return _write_sequences(rows, classes, out, args.json)
        if out is not None and out.suffix.lower() == ".tsv":
            raise InputError("a per-base head writes .bed, .bedgraph or .h5", path=out)
        start, end = parse_region(args.region)
        results = []
        for record in records:
            a, b = (start, min(end or record.length, record.length)) if args.record \
                else (0, record.length)
            if a >= b:
                raise InputError(f"region {a}-{b} is empty on {record.id} "
                                 f"({record.length:,} bases)")
            results.append((record.id, a, predict_bases(model, record, a, b)))
    summary = {"model": str(args.model), "classes": list(classes), "records": []}
    for rid, a, probs in results:
        calls = np.bincount(probs.argmax(1), minlength=len(classes))
        summary["records"].append({"id": rid, "start": a, "end": a + len(probs),
                                   "bases_per_class": dict(zip(classes, calls.tolist(),
                                                               strict=True))})
    if out is not None:
        _write_bases(results, classes, shown, out, call_segments)
        summary["out"] = str(out)
    if args.json:
        print(json.dumps(summary))
        return 0
    for r in summary["records"]:
        counts = ", ".join(f"{k} {v:,}" for k, v in r["bases_per_class"].items())
        print(f"{r['id']}:{r['start']:,}-{r['end']:,}  {counts}")
    if out is not None:
        print(f"wrote {out}")
    return 0


def _write_bases(results, classes, shown: int, out, call_segments) -> None:
    """Each format written to a temporary name, then renamed (no half-written file)."""
    from engine.atomic import atomic_path

    suffix = out.suffix.lower()
    with atomic_path(out) as tmp:
        if suffix == ".h5":
            import h5py

            with h5py.File(tmp, "w") as h5:
                h5.attrs["format"] = "bytescope-predictions"
                h5.attrs["version"] = 1
                h5.attrs["classes"] = list(classes)
                for rid, a, probs in results:
                    d = h5.create_dataset(f"records/{rid}/probabilities", data=probs,
                                          compression="gzip", chunks=True)
                    d.attrs["start"] = a
                    d.attrs["classes"] = list(classes)
        elif suffix == ".bed":
            with open(tmp, "w") as handle:
                for rid, a, probs in results:
                    for seg in call_segments(probs, a):
                        handle.write(f"{rid}\t{seg.start}\t{seg.end}\t{classes[seg.label]}\t"
                                     f"{round(1000 * seg.score)}\n")
        else:  # bedGraph: runs of one value merged
            import numpy as np

            with open(tmp, "w") as handle:
                handle.write(f'track type=bedGraph name="{classes[shown]} probability"\n')
                for rid, a, probs in results:
                    values = np.round(probs[:, shown], 3)
                    change = np.flatnonzero(np.diff(values)) + 1
                    starts, ends = np.r_[0, change], np.r_[change, len(values)]
                    handle.writelines(f"{rid}\t{a + s}\t{a + e}\t{values[s]:g}\n"
                                      for s, e in zip(starts.tolist(), ends.tolist(),
                                                      strict=True))


def _write_sequences(rows, classes, out, as_json: bool) -> int:
    if as_json:
        print(json.dumps({"classes": list(classes), "records": [
            {"id": rid, "class": classes[int(p.argmax())],
             "probabilities": dict(zip(classes, map(float, p), strict=True))}
            for rid, p in rows]}))
        if out is None:
            return 0
    lines = ["id\tclass\t" + "\t".join(classes)] + [
        f"{rid}\t{classes[int(p.argmax())]}\t" + "\t".join(f"{v:.4f}" for v in p)
        for rid, p in rows]
    if out is None:
        sys.stdout.write("\n".join(lines) + "\n")
        return 0
    if out.suffix.lower() != ".tsv":
        raise InputError("a sequence head writes .tsv (or stdout)", path=out)
    from engine.atomic import atomic_path

    with atomic_path(out) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    if not as_json:
        print(f"wrote {out} ({len(rows):,} records)")
    return 0
