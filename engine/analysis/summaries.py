"""The summary of one inspection, typed: what ``bytescope inspect --json`` prints, what the
maps file keeps in its ``summary`` attribute, and what the Maps panel shows.

Each class mirrors one JSON object field by field (:meth:`to_json`, :meth:`from_json`), so a
reader names fields and a typo is an ``AttributeError`` rather than a silent default. Numbers
left undefined (no tokens: NaN in :mod:`.routing`) are None, as in the JSON.

    {"record", "start", "end", "patches", "mean_patch_length", "patch_types": {type: n},
     "moe/<layer>": {<RoutingSummary fields>, "specialisation": {...}, "top_kmers": [...]},
     "memory": {"segments", "write": {<RoutingSummary fields>}, "mean_gate"}}   (if any)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.configs import config_from_dict

from .routing import DEFAULT_ALPHA, routing_summary
from .specialisation import SHARE_NOTE, ExpertShares

MOE_PREFIX = "moe/"  # an MoE layer's entry in the JSON is "moe/<layer>"


def _typed(cls: type, data: dict, what: str) -> Any:
    """``cls(**data)``, naming any key ``cls`` has no field for (a FormatError)."""
    return config_from_dict(cls, data, what=what)


@dataclass(frozen=True)
class RoutingSummary:
    """One router's measures (:func:`engine.analysis.routing.routing_summary`'s keys)."""

    n_tokens: int
    n_experts: int
    k: int
    load: list[float | None]  # f: top-1 share of each expert
    load_cv: float | None  # std(f) / mean(f)
    assignment_share: list[float | None]  # a: share of all k choices
    mean_router_prob: list[float | None]  # P
    balance_loss: float | None  # alpha E sum_i f_i P_i
    alpha: float
    token_entropy_mean: float | None  # nats
    marginal_entropy: float | None  # nats
    max_entropy: float  # log E
    mutual_information: float | None
    coactivation: list[list[int]]
    coactivation_rate: list[list[float | None]]

    @classmethod
    def of(cls, probs: np.ndarray, top_k: np.ndarray, *,
           alpha: float = DEFAULT_ALPHA) -> RoutingSummary:
        return cls.from_json(routing_summary(probs, top_k, alpha=alpha))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RoutingSummary:
        return _typed(cls, data, "routing summary")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TypeShares:
    """One feature type's row of the specialisation table (None: no patch of that type)."""

    n_patches: int
    share: list[float | None]  # per expert: the type's patches with it among their top-k
    ratio: list[float | None]  # share / (k / E)


@dataclass(frozen=True)
class Specialisation:
    """Expert shares per feature type against uniform routing, as
    :meth:`engine.analysis.specialisation.ExpertShares.to_dict` writes them."""

    k: int
    n_experts: int
    uniform: float  # k / E
    types: dict[str, TypeShares]

    @classmethod
    def of(cls, shares: ExpertShares) -> Specialisation:
        return cls.from_json(shares.to_dict())

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Specialisation:
        values = {key: value for key, value in data.items() if key != "share"}  # the note
        types = {name: _typed(TypeShares, row, "specialisation row")
                 for name, row in values.pop("types", {}).items()}
        return _typed(cls, {**values, "types": types}, "specialisation")

    def to_json(self) -> dict[str, Any]:
        return {"k": self.k, "n_experts": self.n_experts, "uniform": self.uniform,
                "share": SHARE_NOTE,
                "types": {name: dataclasses.asdict(row) for name, row in self.types.items()}}


@dataclass(frozen=True)
class ExpertLayerSummary:
    """An MoE layer: its routing, the specialisation table and each expert's top k-mers."""

    routing: RoutingSummary
    specialisation: Specialisation
    top_kmers: list[list[tuple[str, int]]]  # per expert: (k-mer, count), most frequent first

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExpertLayerSummary:
        values = dict(data)
        specialisation = Specialisation.from_json(values.pop("specialisation"))
        kmers = [[(str(kmer), int(count)) for kmer, count in rows]
                 for rows in values.pop("top_kmers")]
        return cls(RoutingSummary.from_json(values), specialisation, kmers)

    def to_json(self) -> dict[str, Any]:
        return {**self.routing.to_json(), "specialisation": self.specialisation.to_json(),
                "top_kmers": [list(rows) for rows in self.top_kmers]}


@dataclass(frozen=True)
class MemorySummary:
    """The memory write router over segments, and the mean update gate."""

    segments: int
    write: RoutingSummary  # top-1 of the write probabilities as its choice
    mean_gate: float

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MemorySummary:
        values = dict(data)
        write = RoutingSummary.from_json(values.pop("write"))
        return _typed(cls, {**values, "write": write}, "memory summary")

    def to_json(self) -> dict[str, Any]:
        return {"segments": self.segments, "write": self.write.to_json(),
                "mean_gate": self.mean_gate}


@dataclass(frozen=True)
class InspectionSummary:
    """Everything :func:`engine.analysis.inspect.summarise` measures about one window."""

    record: str
    start: int
    end: int
    patches: int
    mean_patch_length: float  # bytes
    patch_types: dict[str, int]  # patches per feature type (majority of bases)
    moe: dict[str, ExpertLayerSummary]  # by layer name ("layer0"), in the JSON's order
    memory: MemorySummary | None = None  # None: the model has no memory experts

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InspectionSummary:
        values = {key: value for key, value in data.items() if not key.startswith(MOE_PREFIX)}
        moe = {key.removeprefix(MOE_PREFIX): ExpertLayerSummary.from_json(value)
               for key, value in data.items() if key.startswith(MOE_PREFIX)}
        memory = values.pop("memory", None)
        return _typed(cls, {**values, "moe": moe,
                            "memory": None if memory is None else MemorySummary.from_json(memory)},
                      "inspection summary")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"record": self.record, "start": self.start, "end": self.end,
                               "patches": self.patches,
                               "mean_patch_length": self.mean_patch_length,
                               "patch_types": dict(self.patch_types)}
        for layer, entry in self.moe.items():
            out[MOE_PREFIX + layer] = entry.to_json()
        if self.memory is not None:
            out["memory"] = self.memory.to_json()
        return out
