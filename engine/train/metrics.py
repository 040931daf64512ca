"""Run metrics in HDF5, readable while the run writes them (HDF5 single-writer/multi-reader).

    /step/{step, time, loss, aux_loss, lr, grad_norm, tokens_per_s, seq_len}   per logged step
    /eval/{step, time, val_loss, val_bits_per_byte}                   one row per evaluation

Each column is a resizable 1-D dataset, written with HDF5's chunk cache off (``rdcc_nbytes=0``):
a write that fails (disk full) fails at once, as an OSError, instead of being retried from the
cache when the file is collected, which crashes the process at exit. Readers open with
``read_metrics`` (``swmr=True``) and see every row the writer has flushed. On resume the file
is rewritten with the rows up to the checkpoint's step, so the history matches the weights (and
a killed writer's file, still flagged as open, is replaced).

The same rows also go to TensorBoard event files in the run folder (``tensorboard --logdir
runs/`` lists every run; tags ``step/loss``, ``eval/val_bits_per_byte``, ...) when the
``tensorboard`` extra is installed; a resumed run purges the events past its checkpoint, as
it drops those rows here.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from engine.atomic import atomic_path

STEP_COLUMNS = ("step", "time", "loss", "aux_loss", "lr", "grad_norm", "tokens_per_s",
                "seq_len")  # loss: the cross-entropy; aux_loss: a model's own extra terms
EVAL_COLUMNS = ("step", "time", "val_loss", "val_bits_per_byte")


TENSORBOARD_MISSING = ("TensorBoard event files need: pip install 'bytescope[tensorboard]' "
                       "(the metrics are in metrics.h5 either way)")


def tensorboard_writer(folder: Path, resume_step: int | None):
    """A ``SummaryWriter`` on ``folder`` (events after ``resume_step`` purged), or None when
    TensorBoard is not installed."""
    try:
        import tensorboard  # noqa: F401  (torch's writer needs it)
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(log_dir=str(folder), flush_secs=30,
                         purge_step=None if resume_step is None else resume_step + 1)


class MetricsWriter:
    """Appends metric rows; ``flush`` makes them visible to readers."""

    def __init__(self, path: str | Path, *, resume_step: int | None = None,
                 tensorboard: bool = True, eval_columns: tuple[str, ...] = ()) -> None:
        """``eval_columns``: more validation columns (a task head's metrics), fixed here:
        SWMR readers need every dataset made before writing starts."""
        path = Path(path)
        self.events = tensorboard_writer(path.parent, resume_step) if tensorboard else None
        kept = {}
        if resume_step is not None and path.exists():
            # A killed writer leaves the file marked open for SWMR writing; SWMR readers can
            # still read it, so copy the rows up to the checkpoint into a fresh file.
            try:
                old = read_metrics(path)
            except OSError:
                old = {}
            for group, columns in old.items():
                keep = int(np.searchsorted(columns["step"], resume_step, side="right"))
                kept[group] = {name: values[:keep] for name, values in columns.items()}
        with atomic_path(path) as tmp, h5py.File(tmp, "w", libver="latest",
                                                  rdcc_nbytes=0) as h5:
            evals = EVAL_COLUMNS + tuple(c for c in eval_columns if c not in EVAL_COLUMNS)
            for group, columns in (("step", STEP_COLUMNS), ("eval", evals)):
                g = h5.create_group(group)
                rows = len(kept.get(group, {}).get("step", ()))
                for name in columns:  # a column newer than the file: NaN for its old rows
                    data = kept.get(group, {}).get(name, np.full(rows, np.nan))
                    g.create_dataset(name, data=data, maxshape=(None,), dtype="f8", chunks=(256,))
        self.h5 = h5py.File(path, "a", libver="latest", rdcc_nbytes=0)
        self.h5.swmr_mode = True

    def append(self, group: str, row: dict) -> None:
        g = self.h5[group]
        n = g["step"].shape[0]
        for name in g:
            g[name].resize((n + 1,))
            g[name][n] = float(row.get(name, np.nan))
        if self.events is not None:
            for name, value in row.items():
                if name not in ("step", "time") and value is not None and np.isfinite(value):
                    self.events.add_scalar(f"{group}/{name}", float(value),
                                           global_step=int(row["step"]))

    def flush(self) -> None:
        self.h5.flush()
        if self.events is not None:
            self.events.flush()

    def close(self, *, quiet: bool = False) -> None:
        """Close the file; ``quiet`` swallows a failed final write (an error is already being
        reported). Either way the handle is gone: h5py would retry the write when the object
        is collected, and crash the process at exit."""
        try:
            if self.h5 is not None and self.h5.id.valid:
                self.h5.close()
        except OSError:
            if not quiet:
                raise
        finally:
            self.h5 = None
            if self.events is not None:
                self.events.close()
                self.events = None


def read_metrics(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """Every column of a run's metrics, also while the run is writing."""
    with h5py.File(path, "r", libver="latest", swmr=True) as h5:
        return {group: {name: h5[group][name][()] for name in h5[group]} for group in h5}
