"""Baking trained models into ternary (BitNet b1.58) or int8 form (issue 17).

The quantizers (:mod:`engine.models.quantizers`) and the baked layers
(:mod:`engine.models.quantized`) live with the models, so ``load_model`` loads a baked folder
like any other; this package turns a trained model into a baked one and saves it.
"""
