import gzip
import json

import pytest

from nlp.data import conll_dataset, examples_from_articles, iter_corpus, load_examples, read_conll, read_standoff
from nlp.preprocess import NormalizationConfig

from .conftest import REPO, SHARED


def test_conll_maps_pers_and_repairs_bio(tmp_path):
    path = tmp_path / "ner.txt"
    path.write_text("محمد B-PERS\nعلي I-PERS\nفي O\nبغداد I-LOC\n\nقال O\n", encoding="utf-8")
    sentences = read_conll(path)
    assert [s.tags for s in sentences] == [["B-PER", "I-PER", "O", "B-LOC"], ["O"]]
    dataset = conll_dataset(path)
    assert dataset.num_rows == 2 and dataset[0]["tokens"] == ["محمد", "علي", "في", "بغداد"]


def test_conll_known_typos_and_unbroken_files(tmp_path):
    path = tmp_path / "old.txt"
    path.write_text("علي B-PERs\nقال o\n. O\nفي O\nتونس B-LOC\n. O\n", encoding="utf-8")
    sentences = read_conll(path)
    assert len(sentences) == 2  # no blank lines: split after "."
    assert sentences[0].tags == ["B-PER", "O", "O"]


def test_conll_errors_name_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("محمد B-PERS\nعلي B-PLACE\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.txt:2: unknown NER tag 'B-PLACE'"):
        read_conll(path)
    path.write_text("محمد B-PERS\nوحيدة\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.txt:2: expected 'token TAG'"):
        read_conll(path)
    assert read_conll(path, strict=False)[0].tokens == ["محمد"]


def test_article_examples_align_entities_to_words():
    from nlp.articles import read_articles

    example, *_ = examples_from_articles(read_articles(REPO / "data/examples/article_gold.jsonl"), NormalizationConfig())
    assert example.events == ["CONSULT"]
    assert example.words[0] == "عمان"  # normalized: shadda removed
    assert example.tags[0] == "B-LOC" and example.tags[-1] == "B-LOC"  # عمّان ... لغزة


def test_standoff_takes_text_from_corpus(tmp_path):
    corpus = tmp_path / "corpus.jsonl.gz"
    with gzip.open(corpus, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps({"id": "d1", "text": "قصفت الطائرات حلب. وقال الوزير."}, ensure_ascii=False) + "\n")
        handle.write(json.dumps({"id": "d2", "text": "نص آخر."}, ensure_ascii=False) + "\n")
    annotations = tmp_path / "ann.jsonl"
    annotations.write_text(
        json.dumps({"id": "d1", "sentences": [{"start": 0, "end": 18, "events": ["ASSAULT"]}], "entities": [{"start": 14, "end": 17, "label": "LOC"}]})
        + "\n",
        encoding="utf-8",
    )
    (article,) = read_standoff(annotations, corpus)
    assert article.text[14:17] == "حلب" and article.sentences[0].events == ("ASSAULT",)
    examples = load_examples(standoff=[str(annotations)], corpus=str(corpus))
    assert examples[0].tags == ["O", "O", "B-LOC", "O"]
    annotations.write_text(json.dumps({"id": "missing", "sentences": []}) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"ann.jsonl:1: document id 'missing' is not in the corpus"):
        read_standoff(annotations, corpus)


def test_corpus_reader_plain_text(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("سطر أول\n\nسطر ثان\n", encoding="utf-8")
    assert [d["text"] for d in iter_corpus(path)] == ["سطر أول", "سطر ثان"]


def test_conll_file_as_a_corpus_gives_one_document_per_sentence(tmp_path):
    path = tmp_path / "ner.txt"  # ANERcorp's .txt suffix: recognized by its token-TAG lines
    path.write_text("أعلن O\nبوش B-PERS\n. O\n\nقال O\nالوزير O\n", encoding="utf-8")
    docs = list(iter_corpus(path))
    assert docs == [{"id": "ner:1", "text": "أعلن بوش ."}, {"id": "ner:2", "text": "قال الوزير"}]


def test_standoff_reads_from_several_corpora(tmp_path):
    snn = tmp_path / "c.jsonl"
    snn.write_text(json.dumps({"id": "d1", "text": "قصفت الطائرات حلب."}, ensure_ascii=False) + "\n", encoding="utf-8")
    conll = tmp_path / "ner.conll"
    conll.write_text("انسحبت O\nالقوات O\n\n", encoding="utf-8")
    annotations = tmp_path / "ann.jsonl"
    annotations.write_text(
        json.dumps({"id": "d1", "sentences": [{"start": 0, "end": 18, "events": ["ASSAULT"]}]}) + "\n"
        + json.dumps({"id": "ner:1", "sentences": [{"start": 0, "end": 13, "events": ["RETREAT"]}]}) + "\n",
        encoding="utf-8",
    )
    first, second = read_standoff(annotations, [snn, conll])
    assert second.text == "انسحبت القوات" and second.sentences[0].events == ("RETREAT",)
    examples = load_examples(standoff=[str(annotations)], corpus=[str(snn), str(conll)])
    assert [e.events for e in examples] == [["ASSAULT"], ["RETREAT"]]
    with pytest.raises(ValueError, match="not in the corpus"):
        read_standoff(annotations, [snn])


def test_staged_anercorp_reads_with_published_counts():
    path = SHARED / "data" / "anercorp_camellab" / "ANERCorp_CamelLab_train.txt"
    if not path.is_file():
        pytest.skip(f"{path} is absent (staged data lives in ../shared)")
    sentences = read_conll(path)
    assert len(sentences) == 3973
    assert sum(len(s.tokens) for s in sentences) == 125102


def test_articles_dataset_from_jsonl():
    from nlp.data import articles_dataset

    ds = articles_dataset(REPO / "data" / "examples" / "article_gold.jsonl")
    assert ds.num_rows == 1 and len(ds[0]["sentences"]) == 11 and ds[0]["has_entities"]
    row = ds[0]
    assert all(row["text"][e["start"] : e["end"]] for e in row["entities"])


def test_project_annotations_validate_against_the_corpus():
    corpus = SHARED / "data" / "saudinewsnet" / "saudinewsnet.jsonl.gz"
    if not corpus.is_file():
        pytest.skip(f"{corpus} is absent (staged data lives in ../shared)")
    seen = set()
    for split in ("train", "dev", "test"):
        articles = read_standoff(REPO / "data" / "annotations" / f"snn_{split}.jsonl", corpus)
        for article in articles:  # read_standoff validates spans, order, labels and entity text
            assert article.id not in seen  # an article belongs to one split only
            seen.add(article.id)
            spans = [(s.start, s.end) for s in article.sentences]
            assert spans == sorted(spans) and all(0 <= a < b <= len(article.text) for a, b in spans)
    assert len(seen) == 300


def test_later_annotation_rounds_are_train_split_articles_annotated_once():
    from training.annotation.import_annotations import split_of

    corpus = SHARED / "data" / "saudinewsnet" / "saudinewsnet.jsonl.gz"
    if not corpus.is_file():
        pytest.skip(f"{corpus} is absent (staged data lives in ../shared)")
    first_round = {json.loads(line)["id"] for split in ("train", "dev", "test")
                   for line in (REPO / "data" / "annotations" / f"snn_{split}.jsonl").read_text(encoding="utf-8").splitlines()}
    seen = set(first_round)
    counts = {}
    for name in ("snn_round2_train", "snn_round3_train", "snn_round4_train", "snn_round5_random", "snn_round6_train",
                 "snn_round7_random"):
        articles = read_standoff(REPO / "data" / "annotations" / f"{name}.jsonl", corpus)  # validates spans and labels
        ids = {a.id for a in articles}
        assert not ids & seen, f"{name} repeats articles of an earlier round"
        assert {split_of(i) for i in ids} == {"train"}  # dev and test stay the first round's
        seen |= ids
        counts[name] = len(ids)
    # the fifth and seventh rounds are random samples reserved for evaluation, and so is the held-aside fifth of the
    # non-event writing: no recipe may train or select on them
    for reserved in ("snn_round5_random", "snn_round7_random", "discussion_heldout"):
        assert not [c.name for c in (REPO / "configs").glob("*.yaml") if reserved in c.read_text(encoding="utf-8")]
    assert counts == {"snn_round2_train": 262, "snn_round3_train": 264, "snn_round4_train": 266, "snn_round5_random": 96,
                      "snn_round6_train": 144, "snn_round7_random": 96}


def test_anercorp_event_annotations_validate_against_anercorp_train():
    corpus = SHARED / "data" / "anercorp_camellab" / "ANERCorp_CamelLab_train.txt"
    if not corpus.is_file():
        pytest.skip(f"{corpus} is absent (staged data lives in ../shared)")
    n_sentences = len(read_conll(corpus))
    for name, expected in (("anercorp_events_train.jsonl", 196), ("agreement/anercorp_second_pass.jsonl", 20)):
        articles = read_standoff(REPO / "data" / "annotations" / name, corpus)
        assert len(articles) == expected
        for article in articles:
            number = int(article.id.rsplit(":", 1)[1])
            # drawn from the first 90% of train only: the last 10% is the recipes' NER dev split
            assert article.id.startswith("ANERCorp_CamelLab_train:") and number <= int(n_sentences * 0.9)
            spans = [(s.start, s.end) for s in article.sentences]
            assert spans == sorted(spans) and spans[0][0] >= 0 and spans[-1][1] <= len(article.text)
            assert article.entities is None  # events only: ANERcorp has its own NER tags
