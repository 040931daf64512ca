"""Dockable panels: Sequences, Patcher, Patch inspector, Log, and the status bar's pieces."""
