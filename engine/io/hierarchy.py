"""Annotation hierarchy: gene -> transcript -> exon / CDS, as GFF3 and GTF describe it.

GFF3 writes a CDS over several exons as several lines sharing one ``ID`` (one feature in
pieces, the spec's "discontinuous feature"), and links exons and CDS to their transcript by
``Parent``. GTF has no IDs: every line carries ``gene_id`` and ``transcript_id``.
:func:`assemble` turns both into what a user means:

* lines of one type sharing an ID (GFF3), or the CDS lines of one transcript (GTF), become
  **one feature with parts** (``Feature.parts``), spanning its first to last piece: one CDS
  per transcript, one start codon to count;
* a transcript (any feature that is some exon's parent) gets its exons as parts, so a track
  draws exons as boxes joined by intron lines; the exon lines stay, as features of their own.

Order is kept (a merged feature stands where its first line stood). Linear in the features:
one dict pass, no per-base work.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from .records import Feature

# GTF: which attribute links a line of a type to the feature it belongs to.
GTF_TRANSCRIPT = "transcript_id"
GTF_GENE = "gene_id"


def _parents(feature: Feature) -> list[str]:
    """The IDs a line names as its parents (GFF3 ``Parent``, comma-separated; GTF's
    ``transcript_id`` for lines below the transcript)."""
    attrs = feature.attributes
    if "Parent" in attrs:
        return [p for p in attrs["Parent"].split(",") if p]
    if feature.type not in ("gene", "transcript") and GTF_TRANSCRIPT in attrs:
        return [attrs[GTF_TRANSCRIPT]]
    return []


def _merge_key(feature: Feature) -> tuple | None:
    """Lines with the same key are pieces of one feature: (record, type, ID) in GFF3; in GTF,
    (record, CDS, transcript) for coding pieces."""
    attrs = feature.attributes
    if "ID" in attrs:
        return feature.record_id, feature.type, attrs["ID"]
    if feature.type == "CDS" and GTF_TRANSCRIPT in attrs and "Parent" not in attrs:
        return feature.record_id, "CDS", attrs[GTF_TRANSCRIPT]
    return None


def _joined(pieces: list[Feature]) -> Feature:
    first = pieces[0]
    parts = tuple(sorted((p.start, p.end) for p in pieces))
    return dataclasses.replace(first, start=parts[0][0], end=max(e for _, e in parts),
                               parts=parts if len(parts) > 1 else ())


def assemble(features: Sequence[Feature]) -> list[Feature]:
    """Features with multi-line ones joined and transcripts given their exons (docstring)."""
    groups: dict[tuple, list[Feature]] = {}
    order: list[tuple | int] = []
    for i, f in enumerate(features):
        key = _merge_key(f)
        if key is None:
            order.append(i)
        elif key in groups:
            groups[key].append(f)
        else:
            groups[key] = [f]
            order.append(key)
    joined = [features[k] if isinstance(k, int) else
              (_joined(groups[k]) if len(groups[k]) > 1 else groups[k][0]) for k in order]
    exons: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for f in joined:
        if f.type == "exon":
            for parent in _parents(f):
                exons.setdefault((f.record_id, parent), []).append((f.start, f.end))
    if not exons:
        return joined
    out = []
    for f in joined:
        own = f.attributes.get("ID") or (f.attributes.get(GTF_TRANSCRIPT)
                                         if f.type == "transcript" else None)
        pieces = exons.get((f.record_id, own)) if own and f.type != "exon" else None
        if pieces and not f.parts:
            parts = tuple(sorted(pieces))
            f = dataclasses.replace(f, parts=parts if len(parts) > 1 else ())
        out.append(f)
    return out


def folded_exons(features: Sequence[Feature]) -> set[int]:
    """Indices of exon features whose transcript in ``features`` has them as parts (a track
    draws the transcript, not the exons again)."""
    with_parts = {(f.record_id, f.attributes.get("ID") or f.attributes.get(GTF_TRANSCRIPT))
                  for f in features if f.parts and f.type != "exon" and f.type != "CDS"}
    return {i for i, f in enumerate(features) if f.type == "exon"
            and any((f.record_id, p) in with_parts for p in _parents(f))}
