"""Dataset loaders: each is a function a dataset config names as its ``_target_``.

- :mod:`mvd.sources.bundled`: scikit-learn's bundled datasets (digits, iris...)
- :mod:`mvd.sources.synthetic`: ``make_classification``
- :mod:`mvd.sources.uci`: named UCI datasets from their original files
- :mod:`mvd.sources.idx`: MNIST from its IDX files
- :mod:`mvd.sources.hf`: Hugging Face ``datasets`` (hub names or local files)
- :mod:`mvd.sources.openml`: scikit-learn's ``fetch_openml``
- :mod:`mvd.sources.files`: your own CSV, TSV or parquet

Files are found under ``root``, else ``$MVD_DATA``, else the user cache
(:mod:`mvd.sources.download`); prepared arrays are cached on disk
(:mod:`mvd.sources.cache`).  A loader of your own is any function that takes
``name``, ``task`` and ``modality`` (and options of its own) and returns an
:class:`mvd.data.Dataset`.
"""
