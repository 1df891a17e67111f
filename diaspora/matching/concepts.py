"""Concepts named in a text, in Kazakh, Russian or English: the bridge between languages.

Character n-grams mostly measure which language a text is in: a Kazakh request and an English
bio about the same subject share almost none. A concept lexicon (the curated skills with their
aliases, the topics under each skill and the ISCED-F narrow fields, each named in all three
languages) maps every text onto language-free concepts; two texts about speech recognition then
share the concept whatever their languages.

Inflection: Kazakh and Russian words change their endings ("распознавание речи",
"распознаванию речи"; "сөйлеуді тану", "сөйлеуді тануға"). Each word is reduced to a key: the
Snowball stem for Russian and English (PyStemmer), and for Kazakh, which Snowball lacks, the word
with its case, possessive and plural suffixes taken off (`kazakh_stem`). A Cyrillic word of the
text is read both ways, as it may be either language. A term is found in a text when every one
of its content words is (in any order or form), so "распознавания устной речи" finds
"распознавание речи".

A text's vector holds its concepts (1) and, at half weight, the skill each topic belongs to, so
a request about speech recognition is closer to a bio about machine translation (both natural
language processing) than to one about soil science; weights are the inverse document frequency
of the concept among the experts, rows L2-normalised: the concept score of a pair is a cosine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
import Stemmer

from .text import l2_normalize

PARENT_WEIGHT = 0.5  # what a topic adds to the skill it belongs to
CONCEPT_SHARE_SAME = 0.7  # the same within one language (text_score)
CONCEPT_SHARE = 0.85  # how far shared concepts raise the text score towards 1 (text_score)
FUZZY_MIN, FUZZY_TAIL, FUZZY_KEEP = 7, 2, 5  # see Lexicon.__init__
SHORT_WORD = 3  # words this short are not stemmed
WORD_EVIDENCE, WORD_EVIDENCE_MIN = 0.8, 0.1  # see Lexicon.evidence

_WORD = re.compile(r"[^\W\d_]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_KAZAKH_LETTERS = set("әғқңөұүһі")

STOP_WORDS = {
    "en": frozenset(re.findall(r"\S+", "a an and as at by for from in into of on or the to with its their via")),
    "ru": frozenset(re.findall(r"\S+", "а в во для и или из к как на над о об от по при с со у")),
    "kk": frozenset(re.findall(r"\S+", "және мен бен пен үшін бойынша арқылы немесе да де та те")),
}

# Kazakh inflectional endings, longest first: case, possessive and plural suffixes (derivational
# ones such as -лық/-лік stay: they make another word). Stripped repeatedly while the stem keeps
# at least MIN_KAZAKH_STEM letters; then a final б/г/ғ, voiced before a vowel, is unvoiced
# ("кітабы" -> "кітап").
_KAZAKH_SUFFIXES = tuple(
    sorted(
        set(
            re.findall(
                r"\S+",
                # locative-attributive, ablative, locative, genitive, instrumental, dative, accusative
                "ндағы ндегі дағы дегі тағы тегі нан нен дан ден тан тен нда нде да де та те "
                "ның нің дың дің тың тің мен бен пен ға ге қа ке на не ны ні ды ді ты ті ша ше "
                # possessive (1st and 2nd person, 3rd person), plural
                "ымыз іміз мыз міз ыңыз іңіз ңыз ңіз ым ім ың ің сы сі ы і н лар лер дар дер тар тер",
            )
        ),
        key=len,
        reverse=True,
    )
)
MIN_KAZAKH_STEM = 3
_UNVOICE = str.maketrans({"б": "п", "г": "к", "ғ": "қ"})


@lru_cache(maxsize=1 << 16)
def kazakh_stem(word: str) -> str:
    stem = word
    changed = True
    while changed:
        changed = False
        for suffix in _KAZAKH_SUFFIXES:
            if stem.endswith(suffix) and len(stem) - len(suffix) >= MIN_KAZAKH_STEM:
                stem = stem[: -len(suffix)]
                changed = True
                break
    return stem[:-1] + stem[-1].translate(_UNVOICE) if stem else stem


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("ё", "е"))


TEXT_LANGUAGES = ("en", "ru", "kk")


def text_languages(texts: Iterable[str]) -> np.ndarray:
    """Per text, the index in TEXT_LANGUAGES of the language most of its words are in (-1: no
    words): a Cyrillic text with a few Kazakh-only letters is Kazakh.

    A word is a run of letters, in one of three classes (language_of): Latin script, Cyrillic,
    Cyrillic with a Kazakh-only letter. Counted over all texts at once with numpy (one code
    point per element): a Python loop over the words of 100,000 bios takes seconds."""
    texts = list(texts)
    out = np.full(len(texts), -1, dtype=np.int8)
    if not texts:
        return out
    lowered = [t.lower() for t in texts]
    lengths = np.fromiter((len(t) + 1 for t in lowered), dtype=np.int64, count=len(texts))
    joined = "\n".join(lowered) + "\n"
    points = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    kind = _letter_kinds(points)  # 0: not a letter, 1: other letters, 2: Cyrillic, 3: Kazakh-only
    letter = kind > 0
    start = letter & ~np.concatenate([[False], letter[:-1]])
    if not start.any():
        return out
    at = np.flatnonzero(letter)
    # the strongest kind of letter in each word, less 1: its language as in TEXT_LANGUAGES
    language = np.maximum.reduceat(kind[at], np.flatnonzero(start[at])).astype(np.int64) - 1
    text_of_word = np.searchsorted(np.cumsum(lengths), np.flatnonzero(start), side="right")
    counts = np.bincount(text_of_word * 3 + language, minlength=3 * len(texts))  # en, ru, kk
    counts = counts.reshape(len(texts), 3)
    kk = (counts[:, 2] > 0) & (counts[:, 2] * 4 >= counts[:, 1])  # many Kazakh words have no Kazakh-only letter
    counts[kk, 2] += counts[kk, 1]
    counts[kk, 1] = 0
    some = counts.any(axis=1)
    out[some] = np.argmax(counts, axis=1)[some]
    return out


@lru_cache(maxsize=1)
def _kind_table() -> np.ndarray:
    """Per code point of the Basic Multilingual Plane: 0 if _WORD does not read it as a letter,
    else 1 (Latin and other scripts), 2 (Cyrillic), 3 (a Kazakh-only letter)."""
    letters = np.fromiter((bool(_WORD.fullmatch(chr(i))) for i in range(0x10000)), dtype=bool, count=0x10000)
    table = letters.astype(np.uint8)
    table[0x400:0x500][letters[0x400:0x500]] = 2
    table[[ord(c) for c in _KAZAKH_LETTERS]] = 3
    return table


def _letter_kinds(points: np.ndarray) -> np.ndarray:
    kind = np.zeros(len(points), dtype=np.uint8)
    basic = points < 0x10000
    kind[basic] = _kind_table()[points[basic]]
    for i in np.flatnonzero(~basic):  # beyond the Basic Multilingual Plane: rare
        kind[i] = 1 if _WORD.fullmatch(chr(points[i])) else 0
    return kind


def language_of(word: str) -> str:
    """ "en" for Latin script; "kk" for a Cyrillic word with a Kazakh-only letter; else "ru"."""
    if not _CYRILLIC.search(word):
        return "en"
    return "kk" if _KAZAKH_LETTERS & set(word) else "ru"


@dataclass(frozen=True)
class Concept:
    key: str  # "skill:machine-learning", "topic:speech-recognition", "field:061"
    parent: str  # the key of the skill a topic belongs to, or ""
    terms: dict[str, tuple[str, ...]]  # language -> names of the concept


class Lexicon:
    """Terms of every concept, keyed by their words' stems; `extract` finds them in texts."""

    def __init__(self, concepts: Sequence[Concept]) -> None:
        self.concepts = list(concepts)
        self.keys = [c.key for c in self.concepts]
        self.position = {key: i for i, key in enumerate(self.keys)}
        self._ru = Stemmer.Stemmer("russian")
        self._en = Stemmer.Stemmer("english")
        stems: dict[tuple[str, str], int] = {}  # (language, stem) -> word column
        term_words: list[list[int]] = []
        term_concept: list[int] = []
        for i, concept in enumerate(self.concepts):
            for language, names in concept.terms.items():
                for name in names:
                    keys = self._term_keys(name, language)
                    if keys:
                        term_words.append(sorted({stems.setdefault(k, len(stems)) for k in keys}))
                        term_concept.append(i)
        self._stems = stems
        # Derived forms ("биоинформатической" of "биоинформатика", "селекциялау" of "селекция"):
        # a Russian or Kazakh stem of FUZZY_MIN letters or more also matches any word sharing all
        # but its last FUZZY_TAIL letters (and at least FUZZY_KEEP of them).
        # English has no such prefix matching: its stemmer already joins derived forms, and
        # English prefixes mislead ("found" is no "foundry").
        self._prefixes: dict[str, set[int]] = {}
        for (language, stem), column in stems.items():
            if language != "en" and len(stem) >= FUZZY_MIN:
                self._prefixes.setdefault(stem[: max(FUZZY_KEEP, len(stem) - FUZZY_TAIL)], set()).add(column)
        self._prefix_lengths = sorted({len(prefix) for prefix in self._prefixes})
        self.n_terms = len(term_words)
        # word column x term (0/1) and each term's word count: a term is in a text when the text
        # has all of its words.
        self._word_term = _incidence_t(term_words, len(stems))
        self._term_size = np.fromiter((len(w) for w in term_words), dtype=np.float32, count=len(term_words))
        self._term_concept = sp.csr_matrix(
            (np.ones(len(term_concept), np.float32), (np.arange(len(term_concept)), term_concept)),
            shape=(len(term_concept), len(self.concepts)),
        )
        parents = [(i, self.position[c.parent]) for i, c in enumerate(self.concepts) if c.parent in self.position]
        n = len(self.concepts)
        rows = np.fromiter((child for child, _ in parents), dtype=np.int64, count=len(parents))
        columns = np.fromiter((parent for _, parent in parents), dtype=np.int64, count=len(parents))
        self._spread = (
            sp.identity(n, dtype=np.float32, format="csr")
            + sp.csr_matrix((np.full(len(parents), PARENT_WEIGHT, np.float32), (rows, columns)), shape=(n, n))
        ).tocsr()
        # word column x concept: 1 / the number of concepts whose names use the word
        uses = ((self._word_term @ self._term_concept) > 0).astype(np.float32).tocsr()
        per_word = np.maximum(np.asarray(uses.sum(axis=1)).ravel(), 1)
        self._word_concept = sp.diags(1 / per_word).astype(np.float32) @ uses
        self._token_words: dict[str, tuple[int, ...]] = {}

    def __len__(self) -> int:
        return len(self.concepts)

    def _term_keys(self, name: str, language: str) -> list[tuple[str, str]]:
        """The term's content words as keys; none when a word is a single letter (the rest of
        "1С:Предприятие" or "C++" would be a common word on its own), or when a term of several
        words keeps only one (an acronym that reads as a stop word: "разработка ПО" is no
        "разработка" of anything)."""
        all_words = words(name)
        content = [w for w in all_words if w not in STOP_WORDS.get(language, ())]
        if any(len(w) < 2 for w in content) or (len(all_words) > 1 and len(content) < 2):
            return []
        return [(language, self._stem(w, language)) for w in content]

    def _stem(self, word: str, language: str) -> str:
        if len(word) <= SHORT_WORD:  # acronyms and short words are matched as they are ("ИИ", "GIS")
            return word
        if language == "kk":
            return kazakh_stem(word)
        return (self._ru if language == "ru" else self._en).stemWord(word)

    def _columns_of(self, token: str) -> tuple[int, ...]:
        """Word columns a text token may be: read as English, or as Russian and as Kazakh."""
        found = self._token_words.get(token)
        if found is None:
            cyrillic = language_of(token) != "en"
            languages = ("ru", "kk") if cyrillic else ("en",)
            columns = {self._stems[r] for r in ((x, self._stem(token, x)) for x in languages) if r in self._stems}
            for length in self._prefix_lengths if cyrillic else ():
                if length > len(token):
                    break
                columns |= self._prefixes.get(token[:length], set())
            found = tuple(columns)
            if len(self._token_words) < 2_000_000:  # a bound on what an adversarial text can grow
                self._token_words[token] = found
        return found

    def hits(self, texts: Iterable[str]) -> sp.csr_matrix:
        """texts x concepts, 1 where the text names the concept."""
        return self.evidence(texts)[0]

    def evidence(self, texts: Iterable[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """(hits, evidence): texts x concepts. Evidence is 1 where the text names the concept,
        else the words the text shares with the concept's names, each word counting 1 / the
        number of concepts whose names use it (a word of one concept only, such as "домбра",
        is nearly as telling as the name; "центр" is not), times WORD_EVIDENCE, kept from
        WORD_EVIDENCE_MIN."""
        indptr, indices = [0], []
        for text in texts:
            columns = {c for token in set(words(text)) for c in self._columns_of(token)}
            indices.extend(columns)
            indptr.append(len(indices))
        present = sp.csr_matrix(
            (np.ones(len(indices), np.float32), np.asarray(indices, dtype=np.int32), np.asarray(indptr)),
            shape=(len(indptr) - 1, len(self._stems)),
        )
        if not self.n_terms:
            empty = sp.csr_matrix((present.shape[0], len(self.concepts)), dtype=np.float32)
            return empty, empty
        found = (present @ self._word_term).tocsr()
        found.data = (found.data >= self._term_size[found.indices]).astype(np.float32)
        found.eliminate_zeros()
        concepts = (found @ self._term_concept).tocsr()
        concepts.data[:] = 1.0
        words_ = (present @ self._word_concept).tocsr()
        words_.data = np.minimum(words_.data, 1.0) * WORD_EVIDENCE
        words_.data[words_.data < WORD_EVIDENCE_MIN] = 0
        words_.eliminate_zeros()
        evidence = concepts.maximum(words_).tocsr()
        return concepts, evidence

    def spread(self, hits: sp.csr_matrix) -> sp.csr_matrix:
        """Hits plus each topic's skill at PARENT_WEIGHT (a concept named itself keeps 1)."""
        out = (hits @ self._spread).tocsr()
        np.minimum(out.data, 1.0, out=out.data)
        return out

    def labels(self, positions: Iterable[int]) -> list[str]:
        return [self.keys[i] for i in positions]


class ConceptSpace:
    """A lexicon with inverse document frequencies fitted on the experts' texts.

    (Shared loanwords were tried as a further signal, a script-free sketch of each long word,
    and dropped: words shared within one language outnumber loans across languages, so the
    language of a text came back into the score: 0.70 against 0.75 across languages.)"""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.idf = np.ones(len(lexicon), dtype=np.float32)

    def fit_transform(self, texts: Sequence[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """(hits, weighted vectors) of the texts."""
        hits, evidence = self.lexicon.evidence(texts)
        df = np.bincount(evidence.indices, minlength=len(self.lexicon))
        self.idf = (np.log((1 + len(texts)) / (1 + df)) + 1).astype(np.float32)
        return hits, self._weigh(evidence)

    def transform(self, texts: Sequence[str]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        hits, evidence = self.lexicon.evidence(texts)
        return hits, self._weigh(evidence)

    def shared(self, a: sp.csr_matrix, b: sp.csr_matrix, *, limit: int = 3) -> list[str]:
        """Keys of the concepts two hit rows share, the most specific (rarest) first."""
        common = np.intersect1d(a.indices, b.indices)
        common = common[np.argsort(-self.idf[common], kind="stable")]
        return self.lexicon.labels(common[:limit].tolist())

    def _weigh(self, evidence: sp.csr_matrix) -> sp.csr_matrix:
        vectors = self.lexicon.spread(evidence)
        vectors.data *= self.idf[vectors.indices]
        return l2_normalize(vectors)


def _incidence_t(rows: list[list[int]], n_columns: int) -> sp.csr_matrix:
    """columns x rows 0/1: the transpose of the row lists' incidence matrix."""
    lengths = [len(r) for r in rows]
    row_ids = np.repeat(np.arange(len(rows), dtype=np.int32), lengths)
    columns = np.fromiter((c for r in rows for c in r), dtype=np.int32, count=int(sum(lengths)))
    return sp.csr_matrix((np.ones(len(columns), np.float32), (columns, row_ids)), shape=(n_columns, len(rows)))


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The platform's vocabularies as a lexicon (built once per process, about 0.1 s)."""
    return Lexicon(platform_concepts())


def text_score(tfidf_cosine, concept_cosine, *, same_language):
    """The text component: the TF-IDF cosine, raised towards 1 by a share of the concept cosine
    (a noisy OR). Across languages the n-grams say next to nothing, so the concepts count with
    CONCEPT_SHARE; within one language the n-grams already see the subject (more finely than
    the lexicon), so the concepts count with CONCEPT_SHARE_SAME. A text the lexicon does not
    cover scores exactly its TF-IDF cosine."""
    share = np.where(same_language, CONCEPT_SHARE_SAME, CONCEPT_SHARE)
    return tfidf_cosine + share * concept_cosine * (1 - tfidf_cosine)


def platform_concepts() -> list[Concept]:
    """The curated skills (labels and aliases), the topics under them and the ISCED-F narrow
    fields, in kk, ru and en. Regions and ISCO groups are left out: a place named in a bio says
    where, not what about, and an occupation group ("Professionals") names no subject."""
    from diaspora import vocabularies as vocab

    concepts = []
    for slug, skill in vocab.SKILLS.items():
        aliases = vocab.SKILL_ALIASES.get(slug, {})
        terms = {lang: (*_names(skill.labels.get(lang, "")), *aliases.get(lang, ())) for lang in ("kk", "ru", "en")}
        concepts.append(Concept(f"skill:{slug}", "", terms))
    for slug, topic in vocab.TOPICS.items():
        parent = topic.skill if topic.skill.startswith("field:") else f"skill:{topic.skill}"
        concepts.append(Concept(f"topic:{slug}", parent, dict(topic.terms)))
    for code, labels in vocab.ISCED_FIELDS.items():
        if code.startswith("00") or code.endswith("8"):  # generic and inter-disciplinary: no subject of their own
            continue
        terms = {lang: (labels.get(lang, "").split("(")[0].strip(),) for lang in ("kk", "ru", "en")}
        concepts.append(Concept(f"field:{code}", "", terms))
    return concepts


def _names(label: str) -> tuple[str, ...]:
    """ "Financial technology (fintech)" -> ("Financial technology", "fintech")."""
    return tuple(part.strip() for part in re.split(r"[()]", label) if part.strip())
