"""The HDF5 file ``bytescope inspect ... --out maps.h5`` writes: every map with its coordinates.

A map's dataset path is its name in :mod:`engine.analysis.map_table`:
``<group>/<kind>[/<layer>...]``; the group says which part of the model it comes from, the kind
what it holds, and deeper names tell layers apart (``attention/encoder_cross/layer0``,
``routing/router_probs/layer1``). Every dataset carries an ``axes`` attribute, comma-separated
names of its axes in order. Kinds in the table (its rows with ``stored=True``) take their
axes from it; any other map needs them given (``write_maps(..., axes={name: "..."})``).
Square maps are ``[row, column] = [query or output, key or input]``. Coordinates:

| dataset | axes | holds |
|---|---|---|
| `/coords/bytes` | `byte` | int64 record position of each byte of the window |
| `/coords/patch_starts` | `patch` | int64 record position where each patch starts |
| `/coords/patch_ends` | `patch` | int64 record position where it ends (exclusive) |

Attention rows and router probabilities sum to 1 over their last axis.

Root attributes: ``format`` (``"bytescope-maps"``), ``version`` (this layout's version, 1),
``bytescope_version``, ``record``, ``start``, ``end`` (the window, 0-based half-open),
``model`` (run folder or checkpoint), ``created`` (ISO 8601, UTC), and any extra ones given.
Axes named ``byte`` have ``end - start`` entries, axes named ``*patch`` one per patch, and
``latent`` one more (entry 0 is the decoder's learned start state, entry c the latent of patch
c - 1); ``write_maps`` checks these sizes. The file is written atomically (never half a file).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from engine import __version__
from engine.atomic import atomic_path
from engine.errors import FormatError, InputError

from .map_table import MAP_KINDS, STORED_GROUPS, UnknownMap, map_kind

MAPS_FORMAT = "bytescope-maps"
MAPS_VERSION = 1
GROUPS = STORED_GROUPS  # attention, hyena, routing, memory
COORDS = "coords"
# ``<group>/<kind>`` -> axes, as the file writes them; deeper names (layers) inherit them
AXES = {kind.name: ",".join(kind.axes) for kind in MAP_KINDS if kind.stored}
COORD_AXES = {"bytes": "byte", "patch_starts": "patch", "patch_ends": "patch"}
RESERVED_ATTRS = frozenset(
    {"format", "version", "bytescope_version", "record", "start", "end", "model", "created",
     "axes"}
)
_COMPRESS_ABOVE = 1 << 16  # bytes; small maps stay contiguous
_DTYPE_KINDS = "biuf"  # bool, signed, unsigned, float


def axes_for(name: str, explicit: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The axis names of dataset ``name``: from ``explicit``, else from the map table."""
    if explicit and name in explicit:
        return tuple(a.strip() for a in explicit[name].split(","))
    try:
        kind = map_kind(name)
    except UnknownMap:
        kind = None
    if kind is None or not kind.stored:
        raise ValueError(
            f"no axes for map {name!r}: pass axes={{{name!r}: 'a,b,...'}} "
            f"or use a known kind ({', '.join(AXES)})"
        )
    return kind.axes


def _map_name(key: str) -> str:
    name = key.strip("/")
    parts = name.split("/")
    if len(parts) < 2 or parts[0] not in GROUPS or not all(parts):
        raise ValueError(f"map name {key!r} must be <group>/<kind>[/...] with a group in {GROUPS}")
    return name


def _check_sizes(name: str, shape: tuple[int, ...], axes: tuple[str, ...],
                 n_bytes: int, n_patches: int) -> None:
    if len(axes) != len(shape):
        raise ValueError(f"map {name!r} has shape {shape} but axes {','.join(axes)}")
    for axis, size in zip(axes, shape, strict=True):
        expected = {"byte": n_bytes, "latent": n_patches + 1}.get(
            axis, n_patches if axis.endswith("patch") else None
        )
        if expected is not None and size != expected:
            raise ValueError(
                f"map {name!r}: axis {axis!r} has {size} entries, the window has {expected}"
            )


def patch_coords(
    patch_starts: np.ndarray, start: int, end: int, patch_ends: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Validated record-coordinate patch starts and ends (ends default to the next start)."""
    starts = np.asarray(patch_starts, dtype=np.int64).reshape(-1)
    if patch_ends is None:
        ends = np.append(starts[1:], end).astype(np.int64)
    else:
        ends = np.asarray(patch_ends, dtype=np.int64).reshape(-1)
    if ends.shape != starts.shape:
        raise ValueError(f"{len(starts)} patch starts but {len(ends)} patch ends")
    if len(starts) and (
        starts[0] < start or ends.max() > end or (ends <= starts).any()
        or (np.diff(starts) <= 0).any()
    ):
        raise ValueError(
            f"patches must be increasing, non-empty and inside the window [{start}, {end}) "
            "in record coordinates"
        )
    return starts, ends


def _write(group: h5py.Group, name: str, data: np.ndarray, axes: tuple[str, ...]) -> None:
    if data.dtype.kind not in _DTYPE_KINDS:
        raise TypeError(f"map {name!r} has dtype {data.dtype}; maps are bool, int or float")
    compress = {"compression": "gzip", "compression_opts": 1, "shuffle": True}
    dataset = group.create_dataset(
        name, data=data, **(compress if data.nbytes > _COMPRESS_ABOVE else {})
    )
    dataset.attrs["axes"] = ",".join(axes)


def _group(h5: h5py.File, path: str) -> h5py.Group:
    """The group at ``path``, created (keeping creation order, as the file does) if absent."""
    group: h5py.Group = h5
    for part in path.split("/"):
        group = group[part] if part in group else group.create_group(part, track_order=True)
    return group


def write_maps(
    path: str | Path,
    maps: Mapping[str, np.ndarray],
    *,
    record: str,
    start: int,
    end: int,
    patch_starts: np.ndarray,
    model: str,
    patch_ends: np.ndarray | None = None,
    axes: Mapping[str, str] | None = None,
    extra_attrs: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``maps`` (``{"attention/encoder_cross/layer0": array, ...}``) and coordinates.

    ``start``/``end`` is the window (0-based half-open record coordinates); ``patch_starts``
    (and ``patch_ends``, default: the next start, then ``end``) are record coordinates too.
    ``axes`` gives the axes of maps whose kind the table lacks (or overrides it). Atomic: on
    any error no file (or the previous one) is left at ``path``.
    """
    if end <= start:
        raise ValueError(f"the window {start}-{end} is empty")
    starts, ends = patch_coords(patch_starts, start, end, patch_ends)
    extra = dict(extra_attrs or {})
    clash = RESERVED_ATTRS & set(extra)
    if clash:
        raise ValueError(f"extra attributes may not be named {', '.join(sorted(clash))}")
    explicit = {_map_name(key): text for key, text in (axes or {}).items()}
    plan = []
    for key, array in maps.items():
        name = _map_name(key)
        data = np.asarray(array)
        names = axes_for(name, explicit)
        _check_sizes(name, data.shape, names, end - start, len(starts))
        plan.append((name, data, names))
    path = Path(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w", track_order=True) as h5:
        h5.attrs.update({
            "format": MAPS_FORMAT,
            "version": MAPS_VERSION,
            "bytescope_version": __version__,
            "record": record,
            "start": int(start),
            "end": int(end),
            "model": str(model),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        })
        h5.attrs.update(extra)
        coords = h5.create_group(COORDS, track_order=True)
        for name, data in (("bytes", np.arange(start, end, dtype=np.int64)),
                           ("patch_starts", starts), ("patch_ends", ends)):
            _write(coords, name, data, (COORD_AXES[name],))
        for name, data, names in plan:
            parent, _, leaf = name.rpartition("/")
            _write(_group(h5, parent), leaf, data, names)
    return path


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _datasets(group: h5py.Group, prefix: str = "") -> Iterator[tuple[str, h5py.Dataset]]:
    """Every dataset below ``group`` by path, in creation order (``visititems`` sorts by name)."""
    for key, obj in group.items():
        if isinstance(obj, h5py.Dataset):
            yield prefix + key, obj
        elif isinstance(obj, h5py.Group):
            yield from _datasets(obj, f"{prefix}{key}/")


def read_maps(
    path: str | Path,
) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, np.ndarray]]:
    """``(maps, attrs, coords)`` of a file from :func:`write_maps`.

    ``maps`` and ``coords`` are keyed by dataset path (``coords`` without its ``coords/``);
    ``attrs`` holds the root attributes plus ``attrs["axes"]``: dataset path -> axis names
    for every map and coordinate (coordinates as ``coords/<name>``).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path=path)
    try:
        h5 = h5py.File(path, "r")
    except OSError as error:
        raise FormatError(f"not an HDF5 file ({error})", path=path) from None
    with h5:
        try:
            maps, attrs, coords = _read_open(h5, path)
        except (OSError, KeyError, ValueError) as error:  # damaged inside a valid header
            raise FormatError(f"cannot read maps file ({error})", path=path) from None
    return maps, attrs, coords


def _read_open(
    h5: h5py.File, path: Path
) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, np.ndarray]]:
    if h5.attrs.get("format") != MAPS_FORMAT:
        raise FormatError("HDF5 file is not a bytescope maps file", path=path)
    if int(h5.attrs.get("version", 0)) > MAPS_VERSION:
        raise FormatError("maps file written by a newer bytescope; please upgrade", path=path)
    datasets = dict(_datasets(h5))
    missing = [f"{COORDS}/{c}" for c in COORD_AXES if f"{COORDS}/{c}" not in datasets]
    if missing:
        raise FormatError(f"maps file lacks {', '.join(missing)}", path=path)
    maps: dict[str, np.ndarray] = {}
    coords: dict[str, np.ndarray] = {}
    axes: dict[str, tuple[str, ...]] = {}
    for name, dataset in datasets.items():
        if "axes" not in dataset.attrs:
            raise FormatError(f"dataset {name!r} has no 'axes' attribute", path=path)
        axes[name] = tuple(_plain(dataset.attrs["axes"]).split(","))
        if name.startswith(f"{COORDS}/"):
            coords[name.removeprefix(f"{COORDS}/")] = dataset[()]
        else:
            maps[name] = dataset[()]
    attrs = {key: _plain(value) for key, value in h5.attrs.items()}
    attrs["axes"] = axes
    return maps, attrs, coords
