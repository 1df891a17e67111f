"""Character n-gram TF-IDF for kk/ru/en texts, and its reduced dense form for the first ranking stage.

The features are exactly those of sklearn's
`TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, lowercase=True, sublinear_tf=True)`
(tests/diaspora/test_matching_engine.py checks it), but computed about three times faster:
char_wb n-grams never cross a word, so each distinct word is analysed once (by sklearn's own
analyzer) and a document's counts are the sparse product (document x word counts) @ (word x
n-gram counts). sklearn's vectorizer counts every n-gram of every document in Python: 11.6 s
for 100,000 synthetic bios, against 3.6 s here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

# Measured on 20,000 synthetic experts x 400 requests, precision@1 of the planted expert with the
# default weights / with the text alone, and stored n-grams per bio:
#   (2,3) .848/.633 296   (2,4) .853/.643 435   (3,4) .858/.645 295
#   (3,5) .853/.653 416   (2,5) .853/.660 556   (4,5) .855/.658 262
# (3, 4): the best with the default weights and within .015 of the best on text alone, with
# 40-90% fewer n-grams than (2,4), (3,5) or (2,5); trigrams still catch short kk/ru stems.
NGRAMS = (3, 4)
# Width of the dense form (TruncatedSVD) used to rank all experts before the exact cosine. On the
# synthetic registry (100,000 experts) even 32 gave the same top 10 as the exact first stage on
# 200 of 200 requests; 96 leaves room for real bios' larger vocabulary (+2 s of build, +40 MB).
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
        self.word_ngrams = sp.csr_matrix((0, 0), dtype=np.float32)

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
        self.word_ngrams = _rows_to_csr([order[row] for row in rows], len(names))
        counts = (docs @ self.word_ngrams).tocsr()
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
        word_ngrams = sp.vstack([self.word_ngrams[known], _rows_to_csr(unknown, self.n_features)], format="csr")
        columns = np.concatenate([known, np.arange(len(self._words), docs.shape[1])])
        counts = (docs[:, columns] @ word_ngrams).tocsr()
        return self._weigh(counts)

    def _weigh(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        """Counts -> sublinear tf x idf, rows L2-normalised; in place (this is the peak of memory
        of a build: one float32 array the size of the matrix at a time)."""
        counts = counts.astype(np.float32, copy=False)
        counts.sum_duplicates()
        if not counts.shape[1]:  # no expert text at all
            return counts
        np.log(counts.data, out=counts.data)
        counts.data += 1
        counts.data *= self.idf[counts.indices]
        return l2_normalize(counts)


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
    index_type = np.int32 if len(indices) < 2**31 else np.int64  # int32 halves the product's indices
    docs = sp.csr_matrix(
        (data, np.asarray(indices, dtype=index_type), np.asarray(indptr, dtype=index_type)), shape=shape
    )
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
        return l2_normalize(dense)


def l2_normalize(matrix):
    """Rows scaled to unit length (zero rows stay zero), in place; a CSR matrix or a 2-D array.
    (sklearn's normalize does the same but costs about 1 ms of argument checks a call.)"""
    if sp.issparse(matrix):
        if not matrix.nnz:
            return matrix
        sizes = np.diff(matrix.indptr)
        filled = sizes > 0  # reduceat over the non-empty rows only: empty ones add nothing between
        lengths = np.ones(len(sizes), dtype=np.float32)
        lengths[filled] = np.sqrt(np.add.reduceat(np.square(matrix.data), matrix.indptr[:-1][filled]))
        matrix.data /= np.repeat(lengths, sizes)
        return matrix
    lengths = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix /= np.where(lengths > 0, lengths, 1.0).astype(matrix.dtype)
    return matrix
