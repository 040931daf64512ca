"""Sequence I/O: one record model for FASTA, FASTQ, GFF3, BED, GenBank, EMBL, HDF5 and bytes.

>>> from engine.io import open_sequences
>>> with open_sequences("genome.fna.xz") as genome:
...     genome.fetch("chr1", 1_000, 2_000)     # 0-based half-open, read from disk
"""

from .alphabet import ALPHABETS, AlphabetGuess, detect_alphabet
from .formats import FORMATS, open_annotations, open_sequences
from .records import Feature, Record, SequenceFile
from .store import open_store, write_store

__all__ = [
    "ALPHABETS",
    "FORMATS",
    "AlphabetGuess",
    "Feature",
    "Record",
    "SequenceFile",
    "detect_alphabet",
    "open_annotations",
    "open_sequences",
    "open_store",
    "write_store",
]
