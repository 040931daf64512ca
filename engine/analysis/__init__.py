"""Looking inside a model, on arrays a capture returns: no torch, no model, no Qt.

:mod:`.routing` measures a mixture of experts' routing (load, balance loss, entropies,
co-activation); :mod:`.specialisation` labels patches by annotation and asks whether experts
prefer some labels or k-mers; :mod:`.maps_file` writes and reads the HDF5 file of maps that
``bytescope inspect`` produces.
"""
