import io
import json
import re
import sys
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp import predict
from nlp.labels import ENTITY_LABELS, EVENT_TYPES
from nlp.results import DocumentPrediction

from .conftest import example_text

TRICKY_TEXTS = [
    "",
    "   \n\t  ",
    "وَقَالَ الرَّئِيسُ مُحَمَّدٌ إِنَّ المُفَاوَضَاتِ سَتَسْتَمِرُّ فِي القَاهِرَةِ.",
    "الســـــلام عليكم\r\nقال NATO chief Jens Stoltenberg في بروكسل 😀 اليوم.",
    "\u200fقال\u200b الوزير\u202b في بغداد\u202c.",
    "...!!!؟؟؟ 123 456.",
    "٢٠٢٣/١٠/٢٠ انفجار",
    "a\ud800b قال",
    "قال\x00 الوزير\x00.",
    "ب" * 2000 + " قال الوزير.",
    "The minister said on Monday that talks in Geneva would resume.",
    "😀😀 🇸🇦 قال 👍🏽.",
    "٫٬؛،؟ ... !!! ??? 3.14",
]


def assert_offsets_valid(text: str, result: DocumentPrediction) -> None:
    previous = 0
    for sentence in result.sentences:
        assert previous <= sentence.start < sentence.end <= len(text)
        assert sentence.text == text[sentence.start : sentence.end]
        assert all(label in EVENT_TYPES and 0.0 <= score <= 1.0 for label, score in sentence.events)
        previous = sentence.end
    previous = 0
    for entity in result.entities:
        assert previous <= entity.start < entity.end <= len(text)
        assert entity.text == text[entity.start : entity.end]
        assert entity.text == entity.text.strip()
        assert entity.label in ENTITY_LABELS and 0.0 <= entity.score <= 1.0
        previous = entity.end


def test_single_text_returns_one_result(predictor):
    result = predict(example_text(), model=predictor)
    assert isinstance(result, DocumentPrediction)
    assert len(result.sentences) == 11
    assert_offsets_valid(example_text(), result)


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_offsets_point_into_the_raw_text(predictor, text):
    assert_offsets_valid(text, predict(text, model=predictor))


def test_seed_articles_offsets(predictor, seed_articles):
    texts = [a["text"] for a in seed_articles]
    for text, result in zip(texts, predict(texts, model=predictor)):
        assert_offsets_valid(text, result)
        assert [(s.start, s.end) for s in result.sentences] == [
            (s["start"], s["end"]) for s in next(a for a in seed_articles if a["text"] == text)["sentences"]
        ]


def test_entity_spans_keep_trailing_diacritics(predictor):
    text = "مُحَمَّدٌ عَلِيٌّ"
    for entity in predict(text, model=predictor).entities:
        assert entity.end == len(text) or text[entity.end] == " "


def test_empty_and_whitespace_texts_give_empty_results(predictor):
    for text in ("", "  \n "):
        result = predict(text, model=predictor)
        assert result.sentences == [] and result.entities == []
        assert result.to_dict()["sentences"] == []


def _signature(result: DocumentPrediction):
    return (
        [(s.start, s.end, tuple(label for label, _ in s.events)) for s in result.sentences],
        [(e.start, e.end, e.label) for e in result.entities],
        [score for s in result.sentences for _, score in s.events] + [e.score for e in result.entities],
    )


def _same(a: DocumentPrediction, b: DocumentPrediction) -> None:
    """Same spans and labels; unrounded scores equal to 1e-4 (batch shapes change the float sums)."""
    sa, sb = _signature(a), _signature(b)
    assert sa[:2] == sb[:2]
    assert sa[2] == pytest.approx(sb[2], abs=1e-4)


def test_batch_equals_single(predictor):
    texts = [example_text(), *TRICKY_TEXTS, example_text()[:200]]
    batched = predict(texts, model=predictor, batch_size=4)
    assert len(batched) == len(texts)
    for text, result in zip(texts, batched):
        _same(result, predict(text, model=predictor, batch_size=1))


def test_long_sentence_uses_overlapping_windows(predictor):
    words = re.sub(r"[.!?؟…\n]", " ", example_text()).split()
    sentence = " ".join(words * 3) + "."
    n_tokens = len(predictor.model.tokenizer(sentence, add_special_tokens=False)["input_ids"])
    assert n_tokens > 3 * predictor.model.settings.max_length  # several windows are needed
    windows = predictor._windows(n_tokens)
    assert windows[0][0] == 0 and windows[-1][1] == n_tokens
    assert all(b - a == predictor._window for a, b in windows)
    assert all(next_a < b for (_, b), (next_a, _) in zip(windows, windows[1:]))  # overlapping
    result = predict(sentence, model=predictor)
    assert len(result.sentences) == 1 and result.sentences[0].end == len(sentence)
    assert_offsets_valid(sentence, result)
    # entities are found all along the sentence, not only in the first window
    last_quarter = [e for e in result.entities if e.start > 0.75 * len(sentence)]
    first_quarter = [e for e in result.entities if e.end < 0.25 * len(sentence)]
    assert last_quarter and first_quarter


def test_short_sentence_is_not_affected_by_windowing(tiny_model, tmp_path):
    from nlp.model import JointModel
    from nlp.predictor import Predictor

    tiny_model.save_pretrained(tmp_path)
    wide = JointModel.from_pretrained(tmp_path)
    wide.settings.max_length = 60  # still covers the short text in one window
    text = "قال الوزير في بغداد إن المحادثات ستستمر."
    _same(Predictor(tiny_model).predict(text), Predictor(wide).predict(text))


def test_to_dict_is_the_article_format(predictor):
    text = example_text()
    data = predict(text, model=predictor).to_dict(id="example")
    assert set(data) == {"id", "source", "date", "title", "text", "sentences", "entities"}
    assert data["id"] == "example" and data["text"] == text
    for sentence in data["sentences"]:
        assert set(sentence) == {"start", "end", "events", "scores"}
        assert set(sentence["events"]) == set(sentence["scores"])
    for entity in data["entities"]:
        assert set(entity) == {"start", "end", "label", "text", "score"}
        assert text[entity["start"] : entity["end"]] == entity["text"]
    json.dumps(data, ensure_ascii=False)


@pytest.mark.parametrize(
    "bad, message",
    [
        (None, "str or a sequence of str"),
        (b"\xd9\x82\xd8\xa7\xd9\x84", "bytes"),
        (42, "str or a sequence of str"),
        (["نص", None], "index 1"),
        (["نص", b"x"], "index 1"),
    ],
)
def test_bad_input_types_raise_type_error(predictor, bad, message):
    with pytest.raises(TypeError, match=message):
        predict(bad, model=predictor)


def test_bad_options_raise_value_error(predictor):
    with pytest.raises(ValueError, match="batch_size"):
        predict("نص", model=predictor, batch_size=0)
    with pytest.raises(ValueError, match="device"):
        predict("نص", model=predictor.model, device="tpu-9")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        predict("نص", model="/nonexistent/model/dir")
    with pytest.raises(TypeError, match="model must be"):
        predict("نص", model=3.5)


def test_model_directory_is_loaded_once_and_cached(tiny_model_dir):
    from nlp.inference import load_predictor

    assert load_predictor(str(tiny_model_dir), device="cpu") is load_predictor(tiny_model_dir, device="cpu")
    result = predict("قال الوزير.", model=str(tiny_model_dir), device="cpu")
    assert result.sentences[0].text == "قال الوزير."


def test_default_model_runs_end_to_end():
    result = predict(example_text(), device="cpu")
    assert_offsets_valid(example_text(), result)


def test_threads_share_a_model(predictor):
    texts = [example_text(), TRICKY_TEXTS[3], TRICKY_TEXTS[2]]
    expected = [_signature(r)[:2] for r in predict(texts, model=predictor)]
    outcomes: list = [None] * 4

    def work(slot: int) -> None:
        outcomes[slot] = [_signature(r)[:2] for r in predict(texts, model=predictor)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(outcome == expected for outcome in outcomes)


@settings(max_examples=40, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("ابتجحدرسعفقلمنهويأإىة ًٌٍَُِّْـ \n.؟!،\"0123abc😀\u200f")),
        max_size=120,
    )
)
def test_random_text_offsets_always_valid(predictor, text):
    assert_offsets_valid(text, predict(text, model=predictor))


def test_bad_item_in_a_batch_can_be_skipped(predictor):
    texts = ["قال الوزير.", None, b"bytes", "هجوم على القاعدة."]
    with pytest.raises(TypeError, match="index 1"):
        predict(texts, model=predictor)
    results = predict(texts, model=predictor, errors="skip")
    assert [r.error is None for r in results] == [True, False, False, True]
    assert "index 2" in results[2].error and "decode" in results[2].error
    assert results[1].sentences == [] and results[1].to_dict()["error"]
    assert _signature(results[3])[:2] == _signature(predict(texts[3], model=predictor))[:2]
    with pytest.raises(ValueError, match="errors must be"):
        predict(texts, model=predictor, errors="ignore")


def test_very_long_article_without_punctuation(predictor):
    text = " ".join(["قال الوزير في بغداد إن المحادثات ستستمر"] * 3000)  # ~130 kB, one sentence
    result = predict(text, model=predictor)
    assert len(result.sentences) == 1 and result.sentences[0].end == len(text)
    assert_offsets_valid(text, result)


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from(list("ابتجحدرسعفقلمنهويأإىة ًَّ \n.؟!،0123abc😀")), max_size=80),
        min_size=1,
        max_size=5,
    )
)
def test_batch_equals_single_property(predictor, texts):
    batched = predict(texts, model=predictor, batch_size=3)
    for text, result in zip(texts, batched):
        _same(result, predict(text, model=predictor, batch_size=1))


def test_long_documents_are_cut_into_pieces_with_the_same_results(predictor, monkeypatch):
    import nlp.predictor as module

    texts = [example_text() * 3, "", example_text(), 42, "قال الوزير."]
    whole = predictor.predict(texts, errors="skip")
    monkeypatch.setattr(module, "CHUNK_SENTENCES", 4)  # the long documents span several chunks
    cut = predictor.predict(texts, errors="skip")
    assert [d.error for d in cut] == [d.error for d in whole]
    for piecewise, at_once in zip(cut, whole):
        _same(piecewise, at_once)
    assert len(cut[0].sentences) == 33 and cut[3].error is not None


class _FakeTerminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _record_bars(monkeypatch) -> list:
    """Replace tqdm with a silent recorder; the list receives each bar created."""
    import tqdm.auto

    bars = []

    class Recorder(tqdm.auto.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, disable=True, **{k: v for k, v in kwargs.items() if k != "disable"})
            bars.append(self)

    monkeypatch.setattr(tqdm.auto, "tqdm", Recorder)
    return bars


def test_default_progress_needs_a_terminal_and_a_long_call(predictor, monkeypatch):
    import nlp.predictor as module

    bars = _record_bars(monkeypatch)
    n = len(predictor.predict(example_text()).sentences)  # 11 sentences
    monkeypatch.setattr(module, "PROGRESS_MIN_SENTENCES", {"cpu": 2 * n})
    calls = {
        "list": lambda texts, **kw: predictor.predict(texts, **kw),
        "stream": lambda texts, **kw: list(predictor.predict_iter(iter(texts), **kw)),
        "words": lambda texts, **kw: predictor.tag_words([t.split() for t in texts], **kw),
    }
    for name, call in calls.items():
        short, long = [example_text()], [example_text()] * 2
        if name == "words":  # one sentence per item
            short, long = ["قال الوزير"] * (2 * n - 1), ["قال الوزير"] * (2 * n)
        for stderr, texts, progress, shown in [
            (io.StringIO(), long, None, False),  # not a terminal (a file, a pipe, CI): no bar by default
            (_FakeTerminal(), short, None, False),  # a terminal, but a quick call
            (_FakeTerminal(), long, None, True),  # a terminal and a call of the minimum size
            (_FakeTerminal(), long, False, False),  # --no-progress
            (io.StringIO(), short, True, True),  # --progress
        ]:
            bars.clear()
            monkeypatch.setattr(sys, "stderr", stderr)
            call(texts, progress=progress)
            assert len(bars) == int(shown), (name, type(stderr).__name__, len(texts), progress)
    assert module._is_terminal(None) is False


def test_progress_bar_total_is_the_whole_input_from_the_start(predictor, monkeypatch):
    import tqdm.auto

    import nlp.predictor as module

    bars = []

    class Recorder(tqdm.auto.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, disable=True, **{k: v for k, v in kwargs.items() if k != "disable"})
            self.first, self.start, self.counted = kwargs["total"], kwargs.get("initial", 0), kwargs.get("initial", 0)
            bars.append(self)

        def update(self, n=1):
            self.counted += n
            assert self.counted <= self.total
            return super().update(n)

    monkeypatch.setattr(tqdm.auto, "tqdm", Recorder)
    monkeypatch.setattr(module, "CHUNK_SENTENCES", 4)  # several chunks
    texts = [example_text() * 3, 42, example_text()]
    results = predictor.predict(texts, progress=True, errors="skip")
    n = sum(len(r.sentences) for r in results)
    assert len(bars) == 1 and bars[0].first == bars[0].total == bars[0].counted == n  # a list: sized once
    bars.clear()
    list(predictor.predict_iter(iter(texts), progress=True, errors="skip"))  # a stream: grows chunk by chunk
    assert bars[0].first < n and bars[0].total == bars[0].counted == n
    # given sentence spans (as evaluate passes them) are counted as given
    bars.clear()
    spans = [[(0, 3), (4, 9)], None]
    list(predictor.predict_iter([example_text(), example_text()], progress=True, sentence_spans=spans))
    assert bars[0].first == bars[0].counted == 2 + len(results[2].sentences)
    # by default a bar appears on a terminal once a call reaches PROGRESS_MIN_SENTENCES, for lists and streams alike
    monkeypatch.setattr(module, "PROGRESS_MIN_SENTENCES", {"cpu": n})
    monkeypatch.setattr(sys, "stderr", _FakeTerminal())
    bars.clear()
    predictor.predict(texts[:1])
    list(predictor.predict_iter(iter(texts[:1])))
    assert bars == []  # fewer sentences than the minimum
    predictor.predict(texts, errors="skip")
    list(predictor.predict_iter(iter(texts), errors="skip"))
    listed, streamed = bars
    assert listed.first == listed.counted == n and listed.start == 0
    assert streamed.start > 0 and streamed.total == streamed.counted == n  # starts where the stream reached the minimum


def test_stored_lexicon_adds_its_types_and_survives_save_and_load(tiny_model, tmp_path):
    import copy

    from nlp import JointModel, Predictor
    from nlp.model import LEXICON_FILE

    model = copy.deepcopy(tiny_model)
    model.set_thresholds({t: 1.0 for t in model.settings.event_types})  # the model alone predicts nothing
    model.lexicon_yaml = "types:\n  ASSAULT: [قصف]\n  PROTEST: [تظاهر]\n"
    model.settings.lexicon_types = ["ASSAULT"]  # PROTEST is in the lexicon but not chosen
    text = "وقصفت الطائرات المدينة. وتظاهر الطلاب أمس."
    first, second = Predictor(model, device="cpu").predict(text).sentences
    assert [label for label, _ in first.events] == ["ASSAULT"] and second.events == ()
    model.save_pretrained(tmp_path / "m")
    assert (tmp_path / "m" / LEXICON_FILE).is_file()
    reloaded = Predictor(JointModel.from_pretrained(tmp_path / "m"), device="cpu").predict(text)
    assert [[label for label, _ in s.events] for s in reloaded.sentences] == [["ASSAULT"], []]
    (tmp_path / "m" / LEXICON_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="lexicon.yaml"):
        JointModel.from_pretrained(tmp_path / "m")


def test_predictor_is_immune_to_tokenizer_settings_changed_elsewhere(tiny_model):
    from nlp.predictor import Predictor

    predictor = Predictor(tiny_model, device="cpu")
    before = predictor.predict(example_text()).to_dict()
    try:  # a user (or another tool) calls the shared tokenizer with truncation and padding
        tiny_model.tokenizer([example_text()], truncation=True, max_length=8, padding="max_length")
        assert predictor.predict(example_text()).to_dict() == before
    finally:
        tiny_model.tokenizer.backend_tokenizer.no_truncation()
        tiny_model.tokenizer.backend_tokenizer.no_padding()
