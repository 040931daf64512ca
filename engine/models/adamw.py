"""AdamW parameter groups: which parameters get weight decay.

Every model class answers ``optimizer_groups(weight_decay)`` with :func:`parameter_groups` and
its own ``no_decay`` rule, so the Trainer knows no model's parameter names.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn


def byte_model_no_decay(name: str, param: nn.Parameter) -> bool:
    """No decay on norms and biases (1-d), embeddings, and the Hyena filter MLP (as HyenaDNA:
    decaying the implicit filter shortens what it can see)."""
    return param.dim() < 2 or "embed" in name or ".filter." in name


def parameter_groups(module: nn.Module, weight_decay: float,
                     no_decay: Callable[[str, nn.Parameter], bool] = byte_model_no_decay,
                     ) -> list[dict]:
    """Two AdamW groups over ``module``'s trainable parameters: ``weight_decay`` on those
    ``no_decay(name, param)`` rejects, 0 on the rest. Parameters keep their registration order,
    so an optimizer state saved by one build loads into the next."""
    decay, keep = [], []
    for name, param in module.named_parameters():
        (keep if no_decay(name, param) else decay).append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": keep, "weight_decay": 0.0},
    ]
