import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.preprocess import NormalizationConfig, normalize, split_sentences, split_words

ARABIC_WITH_MARKS = st.text(
    alphabet=st.sampled_from(
        list("ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأإؤئىة")
        + ["\u064b", "\u064e", "\u064f", "\u0650", "\u0651", "\u0652", "\u0670", "\u0640"]
        + list(" \n\t\u00a0.،؟!…\"«»0123456789٠١٢٣٤٥٦٧٨٩۴")
        + list("abcXYZ😀\u200b\u200f\u202b\ufeff")
    ),
    max_size=80,
)
ANY_TEXT = st.text(max_size=60)


def test_removes_diacritics_and_tatweel_and_normalizes_letters():
    assert normalize("مُحَمَّدٌ").text == "محمد"
    assert normalize("الســـلام").text == "السلام"
    assert normalize("أحمد إبراهيم آمنة").text == "احمد ابراهيم امنة"
    assert normalize("مستشفى").text == "مستشفي"
    assert normalize("٢٠٢٣ و۱۲").text == "2023 و12"


def test_keeps_latin_and_emoji_and_collapses_whitespace():
    result = normalize("قال  Biden \n\n في  NATO 😀")
    assert result.text == "قال Biden في NATO 😀"


def test_options_switch_normalizations_off():
    config = NormalizationConfig(remove_diacritics=False, normalize_alef=False, normalize_digits=False)
    assert normalize("أَ٣", config).text == "أَ٣"
    assert normalize("مدرسة", NormalizationConfig(normalize_taa_marbuta=True)).text == "مدرسه"
    assert normalize("،؟", NormalizationConfig(normalize_punctuation=True)).text == ",?"


def test_config_rejects_unknown_options():
    with pytest.raises(ValueError, match="unknown normalization option"):
        NormalizationConfig.from_dict({"remove_diacritic": True})


def test_offset_map_points_at_source_characters():
    raw = "قَالَ\u200f  الرئيـــس"
    result = normalize(raw)
    assert result.text == "قال الرئيس"
    assert [raw[i] for i in result.offsets] == ["ق", "ا", "ل", " ", "ا", "ل", "ر", "ئ", "ي", "س"]


def test_non_string_is_rejected():
    with pytest.raises(TypeError):
        normalize(b"abc")  # type: ignore[arg-type]


def test_lone_surrogates_do_not_break_normalization():
    result = normalize("a\ud800b")
    assert result.text == "a\ufffdb"
    assert list(result.offsets) == [0, 1, 2]


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(ARABIC_WITH_MARKS, ANY_TEXT), data=st.data())
def test_mapping_any_span_back_normalizes_to_the_same_span(text, data):
    result = normalize(text)
    assert len(result.offsets) == len(result.text)
    assert np.all(np.diff(result.offsets) > 0)
    n = len(result.text)
    start = data.draw(st.integers(0, n))
    end = data.draw(st.integers(start, n))
    raw_start, raw_end = result.to_raw_span(start, end)
    assert 0 <= raw_start <= raw_end <= len(text)
    assert normalize(text[raw_start:raw_end]).text == result.text[start:end]


def test_split_words_keeps_clitics_and_separates_punctuation():
    text = "والعراق، (بغداد) 2.5"
    assert [text[a:b] for a, b in split_words(text)] == ["والعراق", "،", "(", "بغداد", ")", "2", ".", "5"]


def sentences(text):
    return [text[a:b] for a, b in split_sentences(text)]


def test_splits_after_terminators_and_line_breaks():
    text = "قال الوزير. ثم غادر! هل عاد؟ نعم… انتهى\nسطر جديد"
    assert sentences(text) == ["قال الوزير.", "ثم غادر!", "هل عاد؟", "نعم…", "انتهى", "سطر جديد"]


def test_closing_quotes_stay_with_their_sentence():
    text = 'وقال إن "الوضع خطير." وأضاف «لن نتراجع!» ثم غادر.'
    assert sentences(text) == ['وقال إن "الوضع خطير."', "وأضاف «لن نتراجع!»", "ثم غادر."]


def test_no_split_inside_numbers_dates_abbreviations():
    text = "ارتفع المؤشر 2.5 بالمئة إلى 30.000 نقطة في 20/10/2023 وفق د. أحمد ومستر Mr. Smith من U.S. Army. انتهى."
    assert sentences(text) == [
        "ارتفع المؤشر 2.5 بالمئة إلى 30.000 نقطة في 20/10/2023 وفق د. أحمد ومستر Mr. Smith من U.S. Army.",
        "انتهى.",
    ]


def test_ellipsis_and_repeated_marks_end_once():
    assert sentences("انتظروا... ماذا حدث؟! لا شيء") == ["انتظروا...", "ماذا حدث؟!", "لا شيء"]


def test_missing_space_after_full_stop_before_arabic_word():
    assert sentences("انتهى الاجتماع.وقال الوزير") == ["انتهى الاجتماع.", "وقال الوزير"]


def test_empty_and_whitespace_give_no_sentences():
    assert split_sentences("") == []
    assert split_sentences(" \n\t \r\n") == []


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(ARABIC_WITH_MARKS, ANY_TEXT))
def test_sentences_tile_non_space_text_in_order(text):
    spans = split_sentences(text)
    previous = 0
    covered = set()
    for start, end in spans:
        assert previous <= start < end <= len(text)
        assert not text[start].isspace() and not text[end - 1].isspace()
        covered.update(range(start, end))
        previous = end
    assert all(text[i].isspace() for i in range(len(text)) if i not in covered)


def test_matches_gold_sentence_spans_of_seed_articles(seed_articles):
    for article in seed_articles:
        gold = [(s["start"], s["end"]) for s in article["sentences"]]
        assert split_sentences(article["text"]) == gold, article["id"]
