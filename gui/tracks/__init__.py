"""The tracks (pyqtgraph): ruler, sequence, entropy, surprisal, patches, annotations."""
