"""Public dataset sources beyond scikit-learn's bundled ones.

Importing this package registers every source with :func:`mvd.data.register_source`:

- ``uci``: named UCI datasets from their original files (:mod:`mvd.sources.uci`)
- ``mnist``: MNIST from its IDX files (:mod:`mvd.sources.idx`)
- ``hf``: Hugging Face ``datasets`` (hub names or local files; :mod:`mvd.sources.hf`)
- ``openml``: scikit-learn's ``fetch_openml`` (:mod:`mvd.sources.openml`)
- ``file``: your own CSV, TSV or parquet (:mod:`mvd.sources.files`)

Files are found under ``dataset.root``, else ``$MVD_DATA``, else the user
cache; prepared arrays are cached on disk (:mod:`mvd.sources.cache`).
"""

from mvd.data import register_source
from mvd.sources import files, hf, idx, openml, uci

register_source("uci", uci.load)
register_source("mnist", idx.load)
register_source("hf", hf.load)
register_source("openml", openml.load)
register_source("file", files.load)
