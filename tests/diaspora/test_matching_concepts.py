"""The concept lexicon that carries a subject across Kazakh, Russian and English."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diaspora.matching.concepts import (
    TEXT_LANGUAGES,
    ConceptSpace,
    default_lexicon,
    kazakh_stem,
    language_of,
    text_languages,
    text_score,
    words,
)


@pytest.mark.parametrize(
    ("word", "stem"),
    [
        ("тануға", "тану"),  # dative
        ("сөйлеуді", "сөйлеу"),  # accusative
        ("университеттерінде", "университет"),  # plural, possessive, locative
        ("кітабы", "кітап"),  # possessive; the voiced б before a vowel is п again
        ("су", "су"),  # too short to lose anything
    ],
)
def test_kazakh_endings_come_off(word, stem):
    assert kazakh_stem(word) == stem


def concepts_of(*texts):
    lexicon = default_lexicon()
    hits, _ = ConceptSpace(lexicon).fit_transform(list(texts))
    return [{lexicon.keys[j] for j in hits[i].indices} for i in range(len(texts))]


def test_one_subject_is_one_concept_in_three_languages_and_any_word_form():
    found = concepts_of(
        "Automatic speech recognition for call centres.",
        "Распознавание устной речи для казахского языка.",
        "распознаванию речи",
        "Қазақ тіліндегі сөйлеуді тануға арналған жүйе.",
    )
    assert all("topic:speech-recognition" in concepts for concepts in found), found


def test_a_text_on_another_subject_does_not_name_it():
    [concepts] = concepts_of("Soil science and agronomy for wheat farms.")
    assert "topic:speech-recognition" not in concepts and "skill:soil-science" in concepts


def test_the_concept_cosine_crosses_languages_and_the_ngram_one_does_not_need_to():
    _, vectors = ConceptSpace(default_lexicon()).fit_transform(
        ["Сөйлеуді тану жүйелері", "Speech recognition systems", "Soil science"]
    )
    cosine = (vectors @ vectors.T).toarray()
    assert cosine[0, 1] > 0.5 and cosine[0, 2] == 0


def one_language(text):
    """The rule as written word by word (language_of); text_languages counts it with numpy."""
    counts = [0, 0, 0]
    for word in words(text):
        counts[TEXT_LANGUAGES.index(language_of(word))] += 1
    if counts[2] and counts[2] * 4 >= counts[1]:
        counts[2] += counts[1]
        counts[1] = 0
    return int(np.argmax(counts)) if any(counts) else -1


pieces = st.sampled_from(
    ["data", "Анализ", "деректер", "ҚАЗАҚ", "тілі", "İstanbul", "École", "x2д", "5м", "𝔘𝔫𝔦", "_", " ", "\n", ", ", "ё"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(pieces, max_size=12).map("".join), max_size=6))
def test_text_languages_agrees_with_the_word_by_word_rule(texts):
    assert text_languages(texts).tolist() == [one_language(t) for t in texts]


def test_text_languages_of_texts_without_words():
    assert text_languages([]).tolist() == []
    assert text_languages(["", "123 ...", "Қазақ"]).tolist() == [-1, -1, 2]


def test_the_text_score_is_the_ngram_cosine_until_concepts_are_shared_and_stays_within_0_1():
    tfidf = np.array([0.0, 0.3, 0.3, 0.5, 1.0])
    concept = np.array([0.0, 0.0, 1.0, 1.0, 1.0])
    same = np.array([False, True, False, True, False])
    score = text_score(tfidf, concept, same_language=same)
    assert score[:2].tolist() == [0.0, 0.3]
    assert np.all(score >= tfidf) and np.all(score <= 1)
    across, within = text_score(np.zeros(2), np.ones(2), same_language=np.array([False, True]))
    assert across > within  # within one language the n-grams already see the subject


def test_a_term_left_with_one_word_by_a_stop_word_is_not_used():
    # "разработка ПО" (software development) reads as "разработка" + the stop word "по": it
    # would make every "разработка" (of oil fields too) about software.
    [oil, software] = concepts_of("Разработка нефтяных месторождений", "Разработка программного обеспечения")
    assert "skill:software-engineering" not in oil and "topic:reservoir-engineering" in oil
    assert "skill:software-engineering" in software
