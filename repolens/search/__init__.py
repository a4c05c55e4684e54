"""Search over the index: code units, full-text and symbol channels fused with vectors.

- :mod:`.units`: whole functions, classes and file heads as searchable units;
- :mod:`.retrieval`: hybrid retrieval (FTS5/BM25 over identifier-split text, symbol names,
  vectors when present), fused and expanded along the symbol graph;
- :mod:`.vectors`: the FAISS index over chunk embeddings, built in the background;
- :mod:`.embeddings`: the embedder protocol and its backends (in-process ONNX, ``/v1/embeddings``).
"""
