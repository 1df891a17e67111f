"""Hard filters and scores for a block of requests of one mode, against every expert offering it.

Stage 1 scores the whole block at once. Every component is linear in a per-expert feature
vector, so the weighted score of all (request, expert) pairs is one dense matrix product
(one-hot field, broad field, region, languages and time zone, plus the dense SVD form of the
text) plus one sparse product (skills); only the text is approximate there, and only on large
indexes. The filters are boolean arrays computed per distinct (format, hours) and language set
of the block. Stage 2 takes the best C experts of each request, computes the six components
exactly (the text as the TF-IDF cosine), adds the embedding bonus and sorts (score descending,
then person id).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .concepts import CONCEPT_SHARE, text_languages, text_score
from .index import ExpertIndex, ModePart, _incidence, language_bits
from .text import l2_normalize
from .types import COMPONENTS, DEFAULT_WEIGHTS, EMBEDDING_BONUS_CAP, RequestRow

STEPS = ("eligible", "mode", "language", "format", "capacity", "conflict", "already_asked")
FORMATS = {"remote": 0, "onsite": 1, "either": 2}  # anything else is read as "either"
ABSENT = -2  # a request code that matches no expert (experts without one have -1)
SKILLS, FIELD, TEXT, LANGUAGE, REGION, TIMEZONE = range(len(COMPONENTS))
WORKDAY_HOURS = 9.0  # 09:00-18:00 local
DIGITS = 4  # scores and components are rounded to this many decimals
FIRST_TIER = 4.0  # added to the first-stage key of full skill coverage: above any score


@dataclass
class Queries:
    """A block of requests as arrays aligned with the index's vocabularies."""

    requests: Sequence[RequestRow]
    weights: np.ndarray  # B x components, summing to 1 per row
    lang_bits: np.ndarray
    n_languages: np.ndarray
    formats: np.ndarray
    hours: np.ndarray  # what one engagement costs an hour-based offer (at least 1)
    slots: np.ndarray
    skills: sp.csr_matrix  # B x skill vocabulary, 0/1
    n_skills: np.ndarray
    field: np.ndarray
    broad: np.ndarray
    region: np.ndarray
    utc: np.ndarray
    tfidf: sp.csr_matrix
    concepts: sp.csr_matrix  # B x concepts, weighted and normalised (the concept cosine's side)
    concept_hits: sp.csr_matrix  # B x concepts, 1 where the text names it (for explanations)
    text_language: np.ndarray  # B: index in concepts.TEXT_LANGUAGES, or -1
    skills_first: np.ndarray  # bool: full skill coverage ranks first (and the request has skills)
    embeddings: np.ndarray | None
    banned: list[tuple[np.ndarray, np.ndarray]]  # per request: conflict rows, already-asked rows
    features: np.ndarray  # B x ExpertIndex.columns["width"]: the weighted request vector

    def __len__(self) -> int:
        return len(self.requests)


@dataclass
class Ranked:
    """Per request (row): the filter counts and its candidates, best first (rows = -1: none)."""

    steps: np.ndarray  # B x len(STEPS)
    rows: np.ndarray  # B x C global expert rows
    offers: np.ndarray  # B x C global offer positions
    scores: np.ndarray  # B x C
    components: np.ndarray  # B x C x components
    bonus: np.ndarray  # B x C
    first: np.ndarray  # B x C: covers every requested skill where skills come first


def weights_row(weights: dict[str, float]) -> np.ndarray:
    """Unknown keys ignored, missing ones 0, all-zero (or negative) -> DEFAULT_WEIGHTS; sums to 1."""
    row = np.array([max(0.0, float(weights.get(name, 0) or 0)) for name in COMPONENTS], dtype=np.float64)
    if row.sum() <= 0:
        row = np.array([DEFAULT_WEIGHTS[name] for name in COMPONENTS], dtype=np.float64)
    return row / row.sum()


def encode(index: ExpertIndex, requests: Sequence[RequestRow]) -> Queries:
    n = len(requests)
    texts = [r.text for r in requests]
    tfidf = index.vectorizer.transform(texts)
    concept_hits, concepts = index.concept_space.transform(texts)
    embeddings = None
    if index.embeddings is not None:
        embeddings = l2_normalize(np.array(index.encoder.encode(texts), dtype=np.float32).reshape(n, -1))
    q = Queries(
        requests=requests,
        weights=np.array([weights_row(r.weights) for r in requests]).reshape(n, len(COMPONENTS)),
        lang_bits=language_bits([r.languages for r in requests], index.language_vocabulary),
        n_languages=_ints(len(set(r.languages)) for r in requests),
        formats=_ints(FORMATS.get(r.format, 2) for r in requests),
        hours=_ints(max(1, r.hours_per_expert) for r in requests),
        slots=_ints(r.slots for r in requests),
        skills=_incidence([r.skills for r in requests], index.skill_vocabulary),
        n_skills=_ints(len(set(r.skills)) for r in requests),
        field=_ints(index.field_codes.get(r.field, ABSENT) for r in requests),
        broad=_ints(index.broad_codes.get(r.field[:2], ABSENT) if len(r.field) >= 2 else ABSENT for r in requests),
        region=_ints(index.region_codes.get(r.region, ABSENT) for r in requests),
        utc=np.array([r.utc_offset for r in requests], dtype=np.float32),
        tfidf=tfidf,
        concepts=concepts,
        concept_hits=concept_hits,
        text_language=text_languages(texts),
        skills_first=np.fromiter((bool(r.skills_first and r.skills) for r in requests), dtype=bool, count=n),
        embeddings=embeddings,
        banned=[_banned(index, r) for r in requests],
        features=np.zeros((n, index.columns["width"]), dtype=np.float32),
    )
    _request_features(index, q)
    return q


def _request_features(index: ExpertIndex, q: Queries) -> None:
    """The request side of the stage-1 product: weight x what each expert feature is worth."""
    columns, w, out = index.columns, q.weights.astype(np.float32), q.features
    for i in range(len(q)):
        if q.field[i] >= 0:
            out[i, columns["field"] + q.field[i]] = 0.5 * w[i, FIELD]  # same narrow: 0.5 + 0.5 below
        if q.broad[i] >= 0:
            out[i, columns["broad"] + q.broad[i]] = 0.5 * w[i, FIELD]
        if q.region[i] >= 0:
            out[i, columns["region"] + q.region[i]] = w[i, REGION]
        for language in set(q.requests[i].languages):
            if language in index.language_vocabulary:
                out[i, columns["language"] + index.language_vocabulary[language]] = w[i, LANGUAGE] / q.n_languages[i]
        if not q.n_languages[i]:
            out[i, columns["bias"]] = w[i, LANGUAGE]
    utc = columns["utc"]
    out[:, utc : utc + len(index.utc_values)] = w[:, TIMEZONE, None] * timezone_overlap(
        index.utc_values, q.utc[:, None]
    )
    if index.concept_projection is not None:
        out[:, columns["concepts"] : columns["text"]] = (
            CONCEPT_SHARE * w[:, TEXT, None] * index.concept_projection.project(q.concepts)
        )
    if index.projection is not None:
        out[:, columns["text"] :] = w[:, TEXT, None] * index.projection.project(q.tfidf)


def rank_block(
    index: ExpertIndex, part: ModePart, q: Queries, keep: np.ndarray, hidden: np.ndarray | None = None
) -> Ranked:
    """Filters, scores and the best `keep[i]` candidates of each request of the block.
    `hidden`: global expert rows left out as if they were not in the index at all."""
    steps = np.zeros((len(q), len(STEPS)), dtype=np.int64)
    hidden = np.zeros(0, dtype=np.int64) if hidden is None else hidden
    local_hidden = part.local_of[hidden]
    local_hidden = local_hidden[local_hidden >= 0]
    steps[:, 0], steps[:, 1] = len(index) - len(hidden), len(part) - len(local_hidden)
    alive = _per_distinct(q.lang_bits, lambda bits: _speaks_any(part.lang_bits, bits))
    alive[q.n_languages == 0] = True
    alive[:, local_hidden] = False
    steps[:, 2] = np.count_nonzero(alive, axis=1)
    distinct, offer_kind = np.unique(np.stack([q.formats, q.hours], axis=1), axis=0, return_inverse=True)
    offer_kind = offer_kind.ravel()
    in_format, best_offer = _offer_choice(part, distinct[:, 0], distinct[:, 1])
    alive &= in_format[offer_kind]
    steps[:, 3] = np.count_nonzero(alive, axis=1)
    alive &= (best_offer >= 0)[offer_kind]
    steps[:, 4] = np.count_nonzero(alive, axis=1)
    for step, which in ((5, 0), (6, 1)):
        for i, banned in enumerate(q.banned):
            local = part.local_of[banned[which]]
            alive[i, local[local >= 0]] = False
        steps[:, step] = np.count_nonzero(alive, axis=1)
    alive[q.slots <= 0] = False  # nothing to fill: the trail is still reported

    # Filtered-out experts get distinct keys below any score: argpartition slows down several
    # times on a large block of equal values.
    key = np.where(alive, _first_stage(part, q), part.dead_keys)
    width = int(min(keep.max(initial=0), len(part)))
    if width == 0:
        top = np.zeros((len(q), 0), dtype=np.int64)
    elif width < len(part):
        top = np.argpartition(key, len(part) - width, axis=1)[:, len(part) - width :]
    else:
        top = np.broadcast_to(np.arange(len(part)), (len(q), len(part))).copy()
    valid = np.take_along_axis(alive, top, axis=1)
    offers = best_offer[offer_kind[:, None], top]
    del key, alive
    return _stage_two(index, part, q, steps, top, valid, offers, keep)


def _first_stage(part: ModePart, q: Queries) -> np.ndarray:
    """requests x experts weighted scores, exact except for the text (the sum of its two parts
    stands for their noisy OR, and on large indexes the TF-IDF part is the SVD estimate); plus
    FIRST_TIER for experts covering every requested skill where skills come first."""
    score = q.features @ part.features.T
    if q.skills.nnz:
        per_skill = sp.diags((q.weights[:, SKILLS] / np.maximum(q.n_skills, 1)).astype(np.float32)) @ q.skills
        _add_sparse(score, per_skill @ part.skills_t)
    text_weight = sp.diags(q.weights[:, TEXT].astype(np.float32))
    if part.tfidf_t is not None and q.tfidf.nnz:
        _add_sparse(score, text_weight @ q.tfidf @ part.tfidf_t)
    if part.concepts_t is not None and q.concepts.nnz:  # else in the features (the dense form)
        _add_sparse(score, CONCEPT_SHARE * text_weight @ q.concepts @ part.concepts_t)
    score *= part.stale_factor
    if q.skills_first.any():
        rows = np.flatnonzero(q.skills_first)
        shared = sp.csr_matrix(q.skills[rows] @ part.skills_t)
        row_of = np.repeat(np.arange(len(rows)), np.diff(shared.indptr))
        full = shared.data >= q.n_skills[rows][row_of]
        score[rows[row_of[full]], shared.indices[full]] += FIRST_TIER
    return score


def _add_sparse(dense: np.ndarray, product: sp.spmatrix) -> None:
    product = sp.csr_matrix(product)  # a product has no duplicate entries (maybe unsorted ones)
    rows = np.repeat(np.arange(product.shape[0]), np.diff(product.indptr))
    dense[rows, product.indices] += product.data


def _stage_two(index, part, q, steps, top, valid, best_offer, keep) -> Ranked:
    requests, columns = np.nonzero(valid)
    rows = part.experts[top[requests, columns]]
    components = np.zeros((*top.shape, len(COMPONENTS)), dtype=np.float64)
    components[requests, columns] = np.round(exact_components(index, q, requests, rows), DIGITS)
    # Rounded first, so the score is exactly the weighted mean of the components shown.
    score = np.einsum("bkc,bc->bk", components, q.weights) * part.stale_factor[top]
    bonus = np.zeros(top.shape, dtype=np.float64)
    if q.embeddings is not None:
        cosine = np.einsum("pd,pd->p", index.embeddings[rows], q.embeddings[requests]).astype(np.float64)
        bonus[requests, columns] = np.round(EMBEDDING_BONUS_CAP * np.clip(cosine, 0.0, 1.0), DIGITS)
    score = np.round(score + bonus, DIGITS)
    score[~valid] = -np.inf
    first = q.skills_first[:, None] & (components[:, :, SKILLS] >= 1)
    # Full skill coverage first (where asked), then score; ties: lower position, i.e. lower person id.
    order = np.lexsort((top, -score, ~first), axis=1)
    top, valid, score, bonus, best_offer, first = (
        np.take_along_axis(a, order, axis=1) for a in (top, valid, score, bonus, best_offer, first)
    )
    valid &= np.arange(top.shape[1]) < keep[:, None]
    n_offers = len(part.offers)
    return Ranked(
        steps=steps,
        rows=np.where(valid, part.experts[top], -1),
        offers=np.where(valid, part.offers[n_offers - 1 - best_offer % n_offers], -1),
        scores=score,
        components=np.take_along_axis(components, order[:, :, None], axis=1),
        bonus=bonus,
        first=first & valid,
    )


def exact_components(index: ExpertIndex, q: Queries, requests: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """pairs x components, each in [0, 1], for request positions `requests` and expert rows `rows`."""
    out = np.zeros((len(rows), len(COMPONENTS)), dtype=np.float64)
    if not len(rows):
        return out
    if q.skills.nnz:
        shared = np.asarray(index.skills[rows].multiply(q.skills[requests]).sum(axis=1)).ravel()
        out[:, SKILLS] = shared / np.maximum(q.n_skills[requests], 1)
    out[:, FIELD] = 0.5 * (index.field[rows] == q.field[requests]) + 0.5 * (index.broad[rows] == q.broad[requests])
    cosine = np.zeros(len(rows))
    same = (index.text_language[rows] == q.text_language[requests]) & (q.text_language[requests] >= 0)
    if q.tfidf.shape[1]:
        cosine = np.clip(np.asarray(index.tfidf[rows].multiply(q.tfidf[requests]).sum(axis=1)).ravel(), 0.0, 1.0)
        # Two texts in one language share n-grams whatever they are about: only the cosine above
        # the floor of their two languages counts, rescaled to [0, 1].
        known = (q.text_language[requests] >= 0) & (index.text_language[rows] >= 0)
        floor = np.where(known, index.language_floor[q.text_language[requests], index.text_language[rows]], 0.0)
        cosine = np.clip((cosine - floor) / (1 - floor), 0.0, 1.0)
    concept = np.zeros(len(rows))
    if q.concepts.nnz:
        concept = np.clip(np.asarray(index.concepts[rows].multiply(q.concepts[requests]).sum(axis=1)).ravel(), 0, 1)
    out[:, TEXT] = text_score(cosine, concept, same_language=same)
    shared = np.bitwise_count(index.lang_bits[rows] & q.lang_bits[requests]).sum(axis=1)
    n_languages = q.n_languages[requests]
    out[:, LANGUAGE] = np.where(n_languages == 0, 1.0, shared / np.maximum(n_languages, 1))
    out[:, REGION] = index.region[rows] == q.region[requests]
    out[:, TIMEZONE] = timezone_overlap(index.utc[rows], q.utc[requests])
    return out


def timezone_overlap(a, b):
    """Shared hours of two 09:00-18:00 local working days (across midnight too), over 9 hours;
    none with an unknown offset (NaN: a time zone not set, or kept from institutions)."""
    gap = np.abs(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32)) % 24
    gap = np.minimum(gap, 24 - gap)
    return np.nan_to_num(np.maximum(0.0, WORKDAY_HOURS - gap) / WORKDAY_HOURS, nan=0.0)


def _per_distinct(keys: np.ndarray, compute) -> np.ndarray:
    """compute(distinct rows of keys), expanded back to one row per request (a block has few
    distinct language sets, so this saves most of the work)."""
    distinct, inverse = np.unique(keys, axis=0, return_inverse=True)
    return compute(distinct)[inverse.ravel()]


def _speaks_any(expert_bits: np.ndarray, request_bits: np.ndarray) -> np.ndarray:
    return (request_bits[:, None, :] & expert_bits[None, :, :]).any(axis=2)


def _offer_choice(part: ModePart, formats: np.ndarray, hours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per (format, hours) and expert: has an offer in the format; and the best offer in the
    format with capacity for one engagement, as a key (engagements it can still take, then the
    lowest offer id) that _stage_two decodes, or -1."""
    n = len(part.offers)
    wanted = formats[:, None]
    in_format = (wanted == 2) | ((wanted == 0) & part.remote) | ((wanted == 1) & part.onsite)
    engagements = np.where(part.hourly, part.remaining // hours[:, None], part.remaining)
    key = np.where(in_format & (engagements >= 1), engagements * n + (n - 1 - np.arange(n)), -1)
    if n == len(part):  # one offer an expert (the usual case): nothing to combine
        return in_format, key
    return np.logical_or.reduceat(in_format, part.starts, axis=1), np.maximum.reduceat(key, part.starts, axis=1)


def _banned(index: ExpertIndex, request: RequestRow) -> tuple[np.ndarray, np.ndarray]:
    conflict = index.by_institution.get(request.institution_id, np.zeros(0, dtype=np.int64))
    asked = [index.row_of_person[p] for p in request.excluded_person_ids if p in index.row_of_person]
    return conflict, np.asarray(asked, dtype=np.int64)


def _ints(values) -> np.ndarray:
    return np.fromiter(values, dtype=np.int64)
