"""Character n-gram TF-IDF for kk/ru/en texts, and its reduced dense form for the first ranking stage.

The features are exactly those of sklearn's
`TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, lowercase=True, sublinear_tf=True)`
(tests/diaspora/test_matching_engine.py checks it), but computed ten times faster: char_wb
n-grams never cross a word, so each distinct word is analysed once (by sklearn's own analyzer)
and a document's counts are the sparse product (document x word counts) @ (word x n-gram counts).
sklearn's vectorizer counts every n-gram of every document in Python: about 12 s for 100,000
bios, against about 1.5 s here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

# (3, 4) measured best: (2, 4) and (3, 5) gave no better precision on the planted matches, and
# cost 1.5x the memory (bigrams match across unrelated words; 5-grams mostly repeat 4-grams).
NGRAMS = (3, 4)
# Width of the dense form (TruncatedSVD) used to rank all experts before the exact cosine.
DENSE_DIMS = 96
# The SVD is fitted on a random sample of this many expert texts (then applied to all).
SVD_SAMPLE = 20_000


def sklearn_vectorizer(ngram_range: tuple[int, int] = NGRAMS) -> TfidfVectorizer:
    """The reference definition of the features (also used to analyse single words)."""
    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=ngram_range, lowercase=True, sublinear_tf=True, dtype=np.float32
    )


class CharTfidf:
    """fit_transform on the expert texts, transform on request texts; rows are L2-normalised CSR."""

    def __init__(self, ngram_range: tuple[int, int] = NGRAMS) -> None:
        self._analyze = sklearn_vectorizer(ngram_range).build_analyzer()
        self.vocabulary: dict[str, int] = {}
        self.idf = np.zeros(0, dtype=np.float32)
        self._words: dict[str, int] = {}
        self._word_ngrams = sp.csr_matrix((0, 0), dtype=np.float32)

    @property
    def n_features(self) -> int:
        return len(self.vocabulary)

    def fit_transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        docs, words = _doc_word_counts(texts, {})
        ngrams: dict[str, int] = {}
        rows = [[ngrams.setdefault(g, len(ngrams)) for g in self._analyze(word)] for word in words]
        # Columns in alphabetical order, as sklearn's vocabulary_.
        names = sorted(ngrams)
        order = np.empty(len(names), dtype=np.int32)
        order[[ngrams[name] for name in names]] = np.arange(len(names), dtype=np.int32)
        self.vocabulary = {name: i for i, name in enumerate(names)}
        self._words = words
        self._word_ngrams = _rows_to_csr([order[row] for row in rows], len(names))
        counts = (docs @ self._word_ngrams).tocsr()
        df = np.bincount(counts.indices, minlength=len(names))
        self.idf = (np.log((1 + len(texts)) / (1 + df)) + 1).astype(np.float32)
        return self._weigh(counts)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        extra: dict[str, int] = {}
        docs, _ = _doc_word_counts(texts, self._words, extra)
        unknown = [[self.vocabulary[g] for g in self._analyze(word) if g in self.vocabulary] for word in extra]
        # Only the rows of the words these texts contain (the full word table can be large).
        used = np.unique(docs.indices)
        known = used[used < len(self._words)]
        word_ngrams = sp.vstack([self._word_ngrams[known], _rows_to_csr(unknown, self.n_features)], format="csr")
        columns = np.concatenate([known, np.arange(len(self._words), docs.shape[1])])
        counts = (docs[:, columns] @ word_ngrams).tocsr()
        return self._weigh(counts)

    def _weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        counts = counts.astype(np.float32)
        counts.sum_duplicates()
        if not counts.shape[1]:  # no expert text at all
            return counts
        data = (np.log(counts.data, dtype=np.float32) + 1) * self.idf[counts.indices]
        tfidf = sp.csr_matrix((data.astype(np.float32), counts.indices, counts.indptr), shape=counts.shape)
        return normalize(tfidf, copy=False)


def _doc_word_counts(
    texts: Sequence[str], words: dict[str, int], extra: dict[str, int] | None = None
) -> tuple[sp.csr_matrix, dict[str, int]]:
    """Documents x words count matrix. Unknown words are added to `words` (fitting) or, when
    `extra` is given, numbered after the known ones in `extra` (transforming)."""
    table = words if extra is None else extra
    offset = 0 if extra is None else len(words)
    indptr, indices = [0], []
    for text in texts:
        for word in text.lower().split():
            column = words.get(word)
            if column is None:
                column = table.setdefault(word, offset + len(table))
            indices.append(column)
        indptr.append(len(indices))
    shape = (len(texts), offset + len(table))
    data = np.ones(len(indices), dtype=np.float32)
    docs = sp.csr_matrix((data, np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)), shape=shape)
    docs.sum_duplicates()
    return docs, words


def _rows_to_csr(rows: list, n_columns: int) -> sp.csr_matrix:
    lengths = np.fromiter((len(row) for row in rows), dtype=np.int64, count=len(rows))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.concatenate(rows).astype(np.int32) if len(rows) and indptr[-1] else np.zeros(0, np.int32)
    data = np.ones(len(indices), dtype=np.float32)
    matrix = sp.csr_matrix((data, indices, indptr), shape=(len(rows), n_columns))
    matrix.sum_duplicates()
    return matrix


class DenseProjection:
    """TruncatedSVD of the TF-IDF space: rows are L2-normalised, so a dot product approximates the cosine."""

    def __init__(self, tfidf: sp.csr_matrix, *, dims: int = DENSE_DIMS, sample: int = SVD_SAMPLE, seed: int = 0):
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(tfidf.shape[0], min(sample, tfidf.shape[0]), replace=False))
        svd = TruncatedSVD(n_components=dims, n_iter=4, random_state=seed)
        svd.fit(tfidf[rows])
        self.components = np.ascontiguousarray(svd.components_.T, dtype=np.float32)  # features x dims

    def project(self, tfidf: sp.csr_matrix) -> np.ndarray:
        dense = np.asarray(tfidf @ self.components, dtype=np.float32)
        return normalize(dense, copy=False)
