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
