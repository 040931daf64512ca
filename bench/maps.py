"""Maps of a 2 kb window: capture (inspect_locus) plus render (the Maps panel) against <= 1 s.

    python bench/maps.py [--window 2048] [--repeats 5]

The model: the ``tiny`` hyena-blt preset at max_len 2048 with every map on (4 experts top-2 in
both global blocks, an attention block as block 1, 4 memory experts over segments of 16
patches), untrained (timing does not depend on the weights). Its patches come from the
bundled ``fast`` entropy model and the default entropy patcher (mean length 6), as
``inspect_locus`` takes them for a model without a run config; the record is lambda phage
(48.5 kb, bundled), the window 10,000-12,048. Torch runs with the threads a Maps job uses
(every core but one: ``gui.model.maps.use_worker_threads``).

Rows: the plain forward (the baseline, no capture), the forward with every map captured, the
Hyena operators over patches (mean |H| and H for 8 channels, each a forward to get the mixer's
input), the patches (the record scored once, then from the cache), ``inspect_locus`` whole;
then the panel (offscreen, 1400x560): applying an inspection and painting it, switching map
kinds, the routing track; and capture + render, the user's wait after "Inspect View".
Times are medians of ``--repeats`` runs (the first-time scoring: one run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.patching import median_time  # noqa: E402  (the same timing rule as every bench)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=int, default=2048)
    parser.add_argument("--start", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    os.environ["BYTESCOPE_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-maps-cache-")

    import numpy as np
    import torch

    from engine.analysis.capture import capture_maps
    from engine.analysis.hyena_maps import hyena_patch_map, hyena_patch_matrix
    from engine.analysis.inspect import DEFAULT_PATCHING, inspect_locus
    from engine.io import open_sequences
    from engine.models import build_model, load_model, model_config, save_model
    from engine.patch_starts import EntropyPatches
    from engine.resources import sample_path
    from gui.model.maps import InspectedWindow, MapSelection, use_worker_threads

    use_worker_threads()
    threads = torch.get_num_threads()
    torch.manual_seed(0)
    config = model_config("hyena-blt", "tiny", max_len=max(2048, args.window), n_experts=4,
                          top_k=2, n_memories=4, segment_len=16, global_attention_layers=(1,))
    folder = save_model(build_model(config), Path(tempfile.mkdtemp()) / "blt")
    model = load_model(folder).eval()
    path = str(sample_path("lambda_phage.fa"))
    start, end = args.start, args.start + args.window
    rows: list[tuple[str, str, float]] = []

    with open_sequences(path) as sequences:
        record = sequences[0]
        patcher = EntropyPatches("fast", DEFAULT_PATCHING)
        t = time.perf_counter()
        flags = patcher(path, record)
        first_patches = time.perf_counter() - t
        cached_patches = median_time(lambda: EntropyPatches("fast", DEFAULT_PATCHING)(
            path, record), args.repeats)
        window_flags = flags[start:end].copy()
        window_flags[0] = True
        n_patches = int(window_flags.sum())
        tokens = torch.from_numpy(record.array(start, end).astype(np.int64))[None]
        starts = torch.from_numpy(window_flags)[None]

        def forward() -> None:
            with torch.no_grad():
                model(tokens, starts)

        def captured() -> None:
            with torch.no_grad(), capture_maps(model):
                model(tokens, starts)

        forward()  # warm-up: allocation, first-touch
        base = median_time(forward, args.repeats)
        rows.append(("forward, no capture (baseline)", f"{args.window:,} bytes, "
                     f"{n_patches} patches", base))
        rows.append(("forward with every map captured", "", median_time(captured,
                                                                        args.repeats)))
        rows.append(("Hyena mean |H| over 128 channels (block 0)", f"{n_patches}x{n_patches}",
                     median_time(lambda: hyena_patch_map(model, tokens, starts, 0),
                                 args.repeats)))
        rows.append(("Hyena H, 8 channels (block 0)", f"8x{n_patches}x{n_patches}",
                     median_time(lambda: [hyena_patch_matrix(model, tokens, starts, 0, c)
                                          for c in range(8)], args.repeats)))
        rows.append(("patches: the record scored by `fast` (first time)",
                     f"{record.length:,} bytes", first_patches))
        rows.append(("patches: from the score cache", "", cached_patches))
        result = None

        def inspect() -> None:
            nonlocal result
            result = inspect_locus(model, folder, path, record, start, end)

        capture = median_time(inspect, args.repeats)
        rows.append(("inspect_locus (capture, Hyena maps, summaries)",
                     f"{len(result.maps)} maps, "
                     f"{sum(m.nbytes for m in result.maps.values()) / 1e6:.0f} MB", capture))
        window = InspectedWindow(result, config.segment_len)

        from PySide6.QtWidgets import QApplication

        from gui.controllers import Controllers
        from gui.model.session import Workbench
        from gui.model.training import TrainingModel
        from gui.panels.maps import MapsPanel
        from gui.tracks.routing import RoutingTrack

        app = QApplication.instance() or QApplication([])
        workbench = Workbench()
        controllers = Controllers.create(workbench, TrainingModel())
        panel = MapsPanel(workbench, controllers.maps, controllers.exports)
        panel.resize(1400, 560)
        panel.show()
        app.processEvents()

        def drawn() -> None:
            """Until the maps controller's job for the map shown has landed and is drawn."""
            app.processEvents()
            while controllers.maps.busy("view"):
                app.processEvents()
                time.sleep(0.0005)

        def apply() -> None:
            panel.maps_model.set_inspection(None)
            panel.maps_model.set_selection(MapSelection())
            panel.maps_model.set_inspection(window)
            drawn()  # the map is computed in a job, then drawn
            panel.grab()  # paints the heat map, colour bar, load bars, table

        render = median_time(apply, args.repeats)
        rows.append(("panel: apply an inspection and paint it", "encoder map "
                     f"{n_patches}x{args.window:,}", render))
        kinds = [k.key for k in window.kinds()]
        switch = []
        for kind in kinds:
            t = time.perf_counter()
            panel.select(kind=kind)
            drawn()
            panel.graphics.grab()
            switch.append(time.perf_counter() - t)
        slowest = kinds[int(np.argmax(switch))]
        rows.append((f"panel: switch map kind and paint (median of {len(kinds)})", "",
                     statistics.median(switch)))
        rows.append((f"panel: switch map kind and paint (slowest: {slowest})", "",
                     max(switch)))
        import pyqtgraph as pg

        track = RoutingTrack()
        view = pg.GraphicsLayoutWidget()
        view.addItem(track.plot)
        view.resize(1200, 60)
        view.show()
        routing = window.inspection.maps["routing/router_probs/layer0"]

        def draw_track() -> None:
            track.set_routing(panel.maps_model.routing())
            track.plot.setXRange(start, end, padding=0)
            track.update_view(start, end, 1200)
            view.grab()

        rows.append(("routing track: set and paint", f"{routing.shape[1]}x{routing.shape[2]}",
                     median_time(draw_track, args.repeats)))
        panel.close()
        controllers.shutdown()
        rows.append(("capture + render (inspect_locus + apply and paint)", "",
                     capture + render))

    print(f"hyena-blt tiny preset, max_len {config.max_len}, {model.num_params():,} parameters;"
          f" window {record.id}:{start:,}-{end:,}; torch threads {threads}; "
          f"{os.cpu_count()} cores")
    print(f"{'what':<58} {'size':<24} {'time':>9} {'x forward':>10}")
    for name, size, seconds in rows:
        print(f"{name:<58} {size:<24} {seconds * 1000:>7.1f}ms {seconds / base:>10.1f}")
    verdict = "meets" if capture + render <= 1.0 else "misses"
    print(f"\ncapture + render {capture + render:.2f} s: {verdict} the 1 s target")


if __name__ == "__main__":
    main()
