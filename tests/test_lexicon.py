import pytest

from nlp.lexicon import Lexicon

from .conftest import REPO

LEXICON = REPO / "data" / "lexicon" / "plover_ar.yaml"


@pytest.fixture(scope="module")
def lexicon():
    return Lexicon.from_yaml(LEXICON)


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("وقصفت الطائرات مواقع المسلحين في ريف حلب.", {"ASSAULT"}),
        ("وأعلنت الشرطة القبض على ثلاثة مطلوبين.", {"COERCE"}),
        ("واستقبل خادم الحرمين الشريفين السفراء.", {"CONSULT"}),
        ("تظاهر المئات أمام البرلمان.", {"PROTEST"}),
        ("ودعت الأمم المتحدة إلى وقف إطلاق النار.", {"REQUEST", "CONCEDE"}),
        ("وأدانت الوزارة الهجوم الإرهابي.", {"ACCUSE", "ASSAULT"}),
    ],
)
def test_triggers_with_clitics_and_diacritics(lexicon, sentence, expected):
    assert expected <= set(lexicon.events(sentence))


def test_negation_cancels_a_trigger(lexicon):
    assert "ASSAULT" in lexicon.events("قصف الجيش المدينة.")
    assert "ASSAULT" not in lexicon.events("لم قصف الجيش المدينة.")


def test_sports_attack_is_not_assault(lexicon):
    assert "ASSAULT" not in lexicon.events("شن الفريق هجوما قويا في الشوط الثاني من المباراة.")
    assert "ASSAULT" in lexicon.events("شن المسلحون هجوما على نقطة تفتيش.")


def test_plain_sentences_have_no_events(lexicon):
    assert lexicon.events("ارتفعت أسعار النفط في الأسواق العالمية اليوم.") == []


def test_unknown_type_is_rejected(tmp_path):
    bad = tmp_path / "lex.yaml"
    bad.write_text("types:\n  ATTACK: [قصف]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown event type 'ATTACK'"):
        Lexicon.from_yaml(bad)


def test_lexicon_backoff_chooses_types_where_the_union_helps_on_dev(tiny_model):
    import copy

    from nlp.articles import Article
    from nlp.lexicon import Lexicon
    from training.thresholds.lexicon_backoff import choose_types

    model = copy.deepcopy(tiny_model)
    model.set_thresholds({t: 1.0 for t in model.settings.event_types})  # the model alone finds nothing
    text = "وقصفت الطائرات المدينة. وتظاهر الطلاب أمس. وقال الوزير كلاما."
    article = Article.from_dict({
        "id": "d", "text": text,
        "sentences": [{"start": 0, "end": 23, "events": ["ASSAULT"]}, {"start": 24, "end": 42, "events": []},
                      {"start": 43, "end": len(text), "events": []}],
    })
    lexicon = Lexicon.from_yaml_text("types:\n  ASSAULT: [قصف]\n  PROTEST: [تظاهر]\n")
    chosen, table = choose_types(model, [article, article], lexicon, min_gain=0.0, min_support=1)
    assert chosen == ["ASSAULT"]  # PROTEST only adds false positives
    assert table["ASSAULT"]["union_f1"] == 1.0 and table["ASSAULT"]["model_f1"] == 0.0


def test_only_keeps_the_asked_types_and_their_sports_rule(lexicon):
    sentence = "شن المسلحون هجوما على نقطة تفتيش وتظاهر المئات في الساحة."
    both = set(lexicon.events(sentence))
    assert {"ASSAULT", "PROTEST"} <= both
    assert lexicon.only(["PROTEST"]).events(sentence) == ["PROTEST"]
    assert lexicon.only(["ASSAULT"]).events("شن الفريق هجوما قويا في الشوط الثاني من المباراة.") == []
    with pytest.raises(ValueError, match="unknown event types"):
        lexicon.only(["RIOT"])
