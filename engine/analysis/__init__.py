"""Looking inside a patch-level model: its maps, the Hyena operators over patches, summaries.

:mod:`.map_table` is the one table of maps (name, axes, dtype, meaning, hook point, how the
Maps panel shows it) that everything below reads. :mod:`.capture` fills a dict of maps from
the model's hook points during a forward; :mod:`.hyena_maps` materialises the global Hyena
operators as (P, P) matrices; :mod:`.ablation` switches the memory read off; :mod:`.inspect`
runs all of it over one locus. On the arrays a capture returns, with no torch and no model:
:mod:`.routing` measures a mixture of experts' routing (load, balance loss, entropies,
co-activation), :mod:`.specialisation` labels patches by annotation and asks whether experts
prefer some labels or k-mers, :mod:`.summaries` types what ``inspect`` reports, and
:mod:`.maps_file` writes and reads the HDF5 file of maps that ``bytescope inspect`` produces.
No module here imports Qt.
"""
