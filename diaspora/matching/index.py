"""The expert side of the matching engine, built once and reused: arrays per expert and per mode."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .concepts import TEXT_LANGUAGES, ConceptSpace, Lexicon, default_lexicon, text_languages
from .embeddings import TextEncoder
from .text import DENSE_DIMS, CharTfidf, DenseProjection, l2_normalize
from .types import STALE_FACTOR, ExpertRow

# Below this many experts the first stage uses the exact TF-IDF cosine (cheap at that size).
APPROXIMATE_ABOVE = 5_000
CONCEPT_DIMS = 64  # dimensions of the concepts' dense form in the approximate first stage
NO_CODE = -1  # an expert without a field or home region


@dataclass
class ModePart:
    """The experts with at least one offer of one mode, and those offers, as aligned arrays.

    Offers are sorted by (expert, offer id), so `starts` (first offer of each expert) lets
    np.*.reduceat turn per-offer tests into per-expert ones. `features` holds, per expert, the
    one-hot field, broad field, region, languages and time zone, a constant 1, and the dense
    text form: the first stage scores a block of requests with one matrix product of it (the
    skills, whose vocabulary can be large, go through the sparse `skills_t`)."""

    experts: np.ndarray  # global expert rows, ascending (so ascending person id)
    local_of: np.ndarray  # global row -> position in `experts`, or -1
    offers: np.ndarray  # global offer positions
    starts: np.ndarray
    remaining: np.ndarray
    hourly: np.ndarray
    remote: np.ndarray
    onsite: np.ndarray
    lang_bits: np.ndarray  # experts x words, uint64 bitmask over the language vocabulary
    stale_factor: np.ndarray
    dead_keys: np.ndarray  # distinct values in [-2, -1): the first-stage key of a filtered-out expert
    features: np.ndarray  # experts x ExpertIndex.columns["width"], float32
    skills_t: sp.csr_matrix  # skill vocabulary x experts, 0/1
    concepts_t: sp.csr_matrix | None  # concepts x experts (exact first stage), or None: in `features`
    tfidf_t: sp.csr_matrix | None  # features x experts: exact text in the first stage (small indexes)

    def __len__(self) -> int:
        return len(self.experts)


class ExpertIndex:
    """Build once per matching run (or cache it while the registry does not change) and reuse it
    for every top-k query and batch: building is the expensive part (about 7 s per 100,000 experts)."""

    def __init__(self) -> None:
        self.experts: list[ExpertRow] = []
        self.encoder: TextEncoder | None = None

    @classmethod
    def build(
        cls,
        experts: Sequence[ExpertRow],
        *,
        encoder: TextEncoder | None = None,
        approximate: bool | None = None,
        dense_dims: int = DENSE_DIMS,
        lexicon: Lexicon | None = None,
        base: ExpertIndex | None = None,
    ) -> ExpertIndex:
        """`approximate`: rank all experts on a dense SVD form of the text before the exact cosine
        (default: when there are more than APPROXIMATE_ABOVE experts).

        `base`: build a small index of a few changed experts whose text scores are those the base
        index would give them (its n-gram vocabulary, inverse frequencies and concept weights),
        so the two indexes' candidates can be merged by score (services.matching does, between
        full rebuilds)."""
        index = cls()
        index.experts = sorted(experts, key=lambda e: e.person_id)
        index.encoder = encoder if encoder is not None or base is None else base.encoder
        index._build_experts()
        index._build_offers()
        if base is None:
            index._build_text(approximate, dense_dims, lexicon)
        else:
            index._build_text_from(base)
        index.embeddings = None
        if index.encoder is not None and index.experts:
            vectors = np.asarray(index.encoder.encode([e.text for e in index.experts]), dtype=np.float32)
            index.embeddings = l2_normalize(vectors.reshape(len(index.experts), -1).copy())
        index._build_columns()
        index.modes = {mode: index._mode_part(rows) for mode, rows in index._offers_by_mode.items()}
        del index._offers_by_mode, index._dense, index._dense_concepts  # the parts hold what they need
        return index

    def __len__(self) -> int:
        return len(self.experts)

    def nbytes(self) -> int:
        """Memory held by the arrays (the ExpertRow objects themselves are the caller's)."""
        total = sum(_nbytes(v) for v in self.__dict__.values()) + _nbytes(self.vectorizer.word_ngrams)
        for projection in (self.projection, self.concept_projection):
            if projection is not None:
                total += projection.components.nbytes
        for part in self.modes.values():
            total += sum(_nbytes(v) for v in part.__dict__.values())
        return total

    # ------------------------------------------------------------------ build steps

    def _build_experts(self) -> None:
        experts = self.experts
        n = len(experts)
        self.person_ids = np.fromiter((e.person_id for e in experts), dtype=np.int64, count=n)
        self.row_of_person = {pid: row for row, pid in enumerate(self.person_ids.tolist())}
        self.skill_vocabulary = _vocabulary(slug for e in experts for slug in e.skills)
        self.skills = _incidence([e.skills for e in experts], self.skill_vocabulary)
        self.language_vocabulary = _vocabulary(lang for e in experts for lang in e.languages)
        self.lang_bits = language_bits([e.languages for e in experts], self.language_vocabulary)
        self.field_codes = _vocabulary(e.field for e in experts if e.field)
        self.broad_codes = _vocabulary(e.field[:2] for e in experts if len(e.field) >= 2)
        self.region_codes = _vocabulary(e.home_region for e in experts if e.home_region)
        self.field = _codes([e.field for e in experts], self.field_codes)
        self.broad = _codes([e.field[:2] for e in experts], self.broad_codes)
        self.region = _codes([e.home_region for e in experts], self.region_codes)
        self.utc = np.fromiter(
            (np.nan if e.utc_offset is None else e.utc_offset for e in experts), dtype=np.float32, count=n
        )
        self.stale = np.fromiter((e.stale for e in experts), dtype=bool, count=n)
        self.utc_values = np.unique(self.utc)
        by_institution = defaultdict(list)
        for row, expert in enumerate(experts):
            for institution in set(expert.institution_ids):
                by_institution[institution].append(row)
        self.by_institution = {k: np.asarray(v, dtype=np.int64) for k, v in by_institution.items()}

    def _build_offers(self) -> None:
        rows, offers = [], []
        for row, expert in enumerate(self.experts):
            for offer in expert.offers:
                rows.append(row)
                offers.append(offer)
        count = len(offers)
        self.offer_expert = np.asarray(rows, dtype=np.int64)
        self.offer_id = np.fromiter((o.offer_id for o in offers), dtype=np.int64, count=count)
        self.offer_remaining = np.fromiter((o.remaining for o in offers), dtype=np.int64, count=count)
        self.offer_hourly = np.fromiter((o.unit == "hours" for o in offers), dtype=bool, count=count)
        self.offer_remote = np.fromiter((o.remote for o in offers), dtype=bool, count=count)
        self.offer_onsite = np.fromiter((o.onsite for o in offers), dtype=bool, count=count)
        by_mode = defaultdict(list)
        for position, offer in enumerate(offers):
            by_mode[offer.mode].append(position)
        self._offers_by_mode = {mode: np.asarray(p, dtype=np.int64) for mode, p in by_mode.items()}

    def _build_text(self, approximate: bool | None, dense_dims: int, lexicon: Lexicon | None) -> None:
        self.vectorizer = CharTfidf()
        texts = [e.text for e in self.experts]
        self.tfidf = self.vectorizer.fit_transform(texts) if texts else sp.csr_matrix((0, 0), dtype=np.float32)
        self.concept_space = ConceptSpace(lexicon if lexicon is not None else default_lexicon())
        self.concept_hits, self.concepts = self.concept_space.fit_transform(texts)
        self.text_language = text_languages(texts)
        self.language_floor = _language_floor(self.tfidf, self.text_language)
        if approximate is None:
            approximate = len(self.experts) > APPROXIMATE_ABOVE
        dims = min(dense_dims, self.tfidf.shape[1] - 1, len(self.experts) - 1)
        self.projection = DenseProjection(self.tfidf, dims=dims) if approximate and dims >= 2 else None
        self._dense = self.projection.project(self.tfidf) if self.projection is not None else None
        # The concept cosine in the first stage too: on large indexes its sparse product is
        # nearly dense (every text has a field and skills), a dense SVD form costs a tenth.
        dims = min(CONCEPT_DIMS, self.concepts.shape[1] - 1, len(self.experts) - 1)
        self.concept_projection = None
        if self.projection is not None and dims >= 2 and self.concepts.nnz:
            self.concept_projection = DenseProjection(self.concepts, dims=dims)
        self._dense_concepts = (
            self.concept_projection.project(self.concepts) if self.concept_projection is not None else None
        )

    def _build_text_from(self, base: ExpertIndex) -> None:
        texts = [e.text for e in self.experts]
        self.vectorizer, self.concept_space = base.vectorizer, base.concept_space
        self.projection = self._dense = self.concept_projection = self._dense_concepts = None  # exact
        self.tfidf = (
            self.vectorizer.transform(texts) if texts else sp.csr_matrix((0, base.tfidf.shape[1]), dtype=np.float32)
        )
        self.concept_hits, self.concepts = self.concept_space.transform(texts)
        self.text_language = text_languages(texts)
        self.language_floor = base.language_floor

    def _build_columns(self) -> None:
        """Column offsets of the one-hot block of `ModePart.features`, then the dense text."""
        sizes = {
            "field": len(self.field_codes),
            "broad": len(self.broad_codes),
            "region": len(self.region_codes),
            "language": len(self.language_vocabulary),
            "utc": len(self.utc_values),
            "bias": 1,
            "concepts": 0 if self._dense_concepts is None else self._dense_concepts.shape[1],
            "text": 0 if self._dense is None else self._dense.shape[1],
        }
        self.columns = dict(zip(sizes, np.cumsum([0, *sizes.values()])[:-1].tolist(), strict=True))
        self.columns["width"] = sum(sizes.values())

    def _features(self, rows: np.ndarray) -> np.ndarray:
        columns, n = self.columns, len(rows)
        features = np.zeros((n, columns["width"]), dtype=np.float32)
        every = np.arange(n)
        for name, codes in (("field", self.field), ("broad", self.broad), ("region", self.region)):
            known = codes[rows] >= 0
            features[every[known], columns[name] + codes[rows][known]] = 1.0
        for column in range(len(self.language_vocabulary)):
            word, bit = divmod(column, 64)
            features[:, columns["language"] + column] = (self.lang_bits[rows, word] >> np.uint64(bit)) & np.uint64(1)
        features[every, columns["utc"] + np.searchsorted(self.utc_values, self.utc[rows])] = 1.0
        features[:, columns["bias"]] = 1.0
        if self._dense_concepts is not None:
            features[:, columns["concepts"] : columns["text"]] = self._dense_concepts[rows]
        if self._dense is not None:
            features[:, columns["text"] :] = self._dense[rows]
        return features

    def _mode_part(self, positions: np.ndarray) -> ModePart:
        positions = positions[np.lexsort((self.offer_id[positions], self.offer_expert[positions]))]
        owners = self.offer_expert[positions]
        experts, starts = np.unique(owners, return_index=True)
        local_of = np.full(len(self.experts), -1, dtype=np.int32)
        local_of[experts] = np.arange(len(experts), dtype=np.int32)
        return ModePart(
            experts=experts,
            local_of=local_of,
            offers=positions,
            starts=starts,
            remaining=self.offer_remaining[positions],
            hourly=self.offer_hourly[positions],
            remote=self.offer_remote[positions],
            onsite=self.offer_onsite[positions],
            lang_bits=self.lang_bits[experts],
            stale_factor=np.where(self.stale[experts], STALE_FACTOR, 1.0).astype(np.float32),
            dead_keys=(-1.0 - np.arange(len(experts)) / len(experts)).astype(np.float32),
            features=self._features(experts),
            skills_t=self.skills[experts].T.tocsr(),
            concepts_t=self.concepts[experts].T.tocsr() if self._dense_concepts is None else None,
            tfidf_t=self.tfidf[experts].T.tocsr() if self._dense is None else None,
        )


FLOOR_PAIRS = 4_000  # random pairs of texts per pair of languages that measure its floor
FLOOR_MIN_TEXTS = 50  # below this many texts in a language its floor is 0
FLOOR_CAP = 0.5


def _language_floor(tfidf: sp.csr_matrix, languages: np.ndarray, seed: int = 0) -> np.ndarray:
    """Per pair of languages of TEXT_LANGUAGES (request's, expert's), the mean TF-IDF cosine of
    two random texts in them: what two texts share only because of their languages (function
    words, endings, names). The text score counts a cosine above its pair's floor
    (scoring.exact_components), so no pairing of languages starts ahead of another."""
    rng = np.random.default_rng(seed)
    n = len(TEXT_LANGUAGES)
    floor = np.zeros((n, n), dtype=np.float64)
    rows = [np.flatnonzero(languages == language) for language in range(n)]
    for x in range(n):
        for y in range(x, n):
            if min(len(rows[x]), len(rows[y])) < FLOOR_MIN_TEXTS:  # too few to tell a language from a subject
                continue
            a, b = rng.choice(rows[x], FLOOR_PAIRS), rng.choice(rows[y], FLOOR_PAIRS)
            keep = a != b
            cosine = np.asarray(tfidf[a[keep]].multiply(tfidf[b[keep]]).sum(axis=1)).ravel()
            floor[x, y] = floor[y, x] = min(FLOOR_CAP, float(cosine.mean())) if len(cosine) else 0.0
    return floor


def _vocabulary(items) -> dict[str, int]:
    return {item: i for i, item in enumerate(sorted(set(items)))}


def _codes(values: list[str], vocabulary: dict[str, int]) -> np.ndarray:
    return np.fromiter((vocabulary.get(v, NO_CODE) for v in values), dtype=np.int32, count=len(values))


def _incidence(rows: Sequence[Sequence[str]], vocabulary: dict[str, int]) -> sp.csr_matrix:
    """0/1 matrix rows x vocabulary (items outside the vocabulary are left out)."""
    columns = [sorted({vocabulary[item] for item in row if item in vocabulary}) for row in rows]
    indptr = np.concatenate([[0], np.cumsum([len(c) for c in columns], dtype=np.int64)])
    indices = np.fromiter((c for row in columns for c in row), dtype=np.int32, count=int(indptr[-1]))
    data = np.ones(len(indices), dtype=np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(len(rows), len(vocabulary)))


def language_bits(rows: Sequence[Sequence[str]], vocabulary: dict[str, int]) -> np.ndarray:
    """rows x words uint64 bitmask (64 languages a word; unknown languages set no bit)."""
    words = max(1, -(-len(vocabulary) // 64))
    bits = np.zeros((len(rows), words), dtype=np.uint64)
    for i, row in enumerate(rows):
        for language in set(row):
            column = vocabulary.get(language)
            if column is not None:
                bits[i, column // 64] |= np.uint64(1) << np.uint64(column % 64)
    return bits


def _nbytes(value) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if sp.issparse(value):
        return value.data.nbytes + value.indices.nbytes + value.indptr.nbytes
    return 0
