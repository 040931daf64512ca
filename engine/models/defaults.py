"""Which model to use: the bundled defaults by alphabet, a model folder, or a run's best.

``resources/models/<name>/`` holds ``config.json`` + ``model.safetensors`` for each bundled
model; ``default`` picks ``nucleotide`` for DNA/RNA, ``protein`` for proteins and ``text`` for
text and other bytes; ``fast`` picks ``nucleotide-fast`` for DNA/RNA (a smaller model for
interactive whole-genome views) and the default otherwise. Nothing is downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.errors import ModelError
from engine.resources import RESOURCES

from .checkpoint import CHECKPOINTS, CONFIG_NAME, WEIGHTS_NAME, checkpoint_dirs

MODELS = RESOURCES / "models"
DEFAULT_FOR_ALPHABET = {
    "dna": "nucleotide",
    "rna": "nucleotide",
    "protein": "protein",
    "text": "text",
    "bytes": "text",
}
FAST_FOR_ALPHABET = {"dna": "nucleotide-fast", "rna": "nucleotide-fast"}
LATENT = "hyena-blt"  # the bundled patch-level model: what Maps and inspect use by default
BUNDLED = ("nucleotide", "nucleotide-fast", "protein", "text", LATENT)


def _best_checkpoint(run: Path) -> Path | None:
    """The checkpoint a run's ``best.json`` names, if that file and folder are both sound."""
    try:
        target = run / json.loads((run / "best.json").read_text())["checkpoint"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return target if target.is_dir() else None


def resolve_model_path(spec: str | Path, alphabet: str = "dna") -> Path:
    """A folder with ``config.json`` and ``model.safetensors`` for a ``--model`` value.

    ``default`` or ``fast`` (bundled, by alphabet), a bundled name (:data:`BUNDLED`),
    a model or checkpoint folder, a ``model.safetensors`` file, or a run folder (its best
    checkpoint, else its latest complete one).
    """
    if str(spec) == "fast":
        spec = FAST_FOR_ALPHABET.get(alphabet, "default")
    if str(spec) == "default":
        spec = DEFAULT_FOR_ALPHABET.get(alphabet, "text")
    if isinstance(spec, str) and (MODELS / spec).is_dir() and "/" not in spec:
        path = MODELS / spec
    else:
        path = Path(spec)
    if path.is_file() and path.suffix == ".safetensors":
        path = path.parent
    best = _best_checkpoint(path)
    if best is not None:  # a run folder with a best checkpoint
        path = best
    elif (path / CHECKPOINTS).is_dir():
        done = checkpoint_dirs(path)
        if not done:
            raise ModelError("run folder has no complete checkpoint yet", path=path)
        path = done[-1]
    if not (path / CONFIG_NAME).exists() or not (path / WEIGHTS_NAME).exists():
        if str(spec) in BUNDLED:
            raise ModelError(
                f"the bundled {spec!r} model is missing from {MODELS}; give --model PATH "
                "(a trained model or run folder) or precomputed --entropies"
            )
        raise ModelError(
            f"no model here: expected {CONFIG_NAME} and {WEIGHTS_NAME}, a run folder, or "
            "'default'",
            path=path,
        )
    return path


def bundled_latent() -> Path | None:
    """The bundled patch-level model's folder, or None when this install lacks it."""
    folder = MODELS / LATENT
    return folder if (folder / CONFIG_NAME).exists() and (folder / WEIGHTS_NAME).exists() else None
