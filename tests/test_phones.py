import pytest
from hypothesis import given
from hypothesis import strategies as st

from porchlight.phones import PhoneError, display_phone, normalize_phone, try_normalize_phone


@pytest.mark.parametrize(
    "raw",
    [
        "0362345678",
        "01662345678",  # Viettel 0166 -> 036 (2018)
        "+84 166 234 5678",
        "84362345678",
        "362345678",  # Excel dropped the leading zero
        362345678,
        362345678.0,
        "036.234.5678",
        "(036) 234-5678",
        "0084362345678",
    ],
)
def test_forms_of_one_vietnamese_mobile_are_one_number(raw):
    assert normalize_phone(raw, "VN") == "+84362345678"


@pytest.mark.parametrize(
    "old,new",
    [
        ("01202345678", "+84702345678"),  # MobiFone 0120 -> 070
        ("01232345678", "+84832345678"),  # VinaPhone 0123 -> 083
        ("01862345678", "+84562345678"),  # Vietnamobile 0186 -> 056
        ("01992345678", "+84592345678"),  # Gmobile 0199 -> 059
    ],
)
def test_vietnam_2018_renumbering(old, new):
    assert normalize_phone(old, "VN") == new


def test_thai_and_foreign_numbers():
    assert normalize_phone("081 234 5678", "TH") == "+66812345678"
    assert normalize_phone("+66 81 234 5678", "VN") == "+66812345678"
    assert normalize_phone("+1 650 253 0000", "VN") == "+16502530000"


@pytest.mark.parametrize("bad", ["", "   ", "abc", "12", "+84 12", "0" * 60, None, True, 1.5])
def test_bad_phones_raise_a_clear_error(bad):
    with pytest.raises(PhoneError) as info:
        normalize_phone(bad, "VN")
    assert info.value.code in {"empty", "invalid", "too_long"}
    assert try_normalize_phone(bad) is None


def test_display_phone_is_national():
    assert display_phone("+84362345678").replace(" ", "") == "0362345678"


@given(st.text(max_size=60))
def test_any_text_either_normalizes_or_raises_phone_error(text):
    try:
        result = normalize_phone(text, "VN")
    except PhoneError:
        return
    assert result.startswith("+") and result[1:].isdigit()
    assert normalize_phone(result, "VN") == result  # idempotent


def test_the_fast_path_agrees_with_the_full_parse_on_random_numbers(monkeypatch):
    """The common national forms skip phonenumbers' parse; any number either path
    takes gets the same answer (or the same refusal) as the full parse alone."""
    import random

    from porchlight import phones

    def answer(raw: str, region: str) -> str | None:
        try:
            return phones.normalize_phone(raw, region)
        except phones.PhoneError:
            return None

    rng = random.Random(17)
    numbers = []
    for region, code in (("VN", "+84"), ("TH", "+66")):
        for _ in range(3000):
            raw = "0" + "".join(rng.choice("0123456789") for _ in range(rng.randint(7, 11)))
            numbers.append((region, code + raw[1:] if rng.random() < 0.3 else raw))
    fast = [answer(raw, region) for region, raw in numbers]
    monkeypatch.setattr(phones, "_fast", lambda region, national: None)
    full = [answer(raw, region) for region, raw in numbers]
    assert fast == full
    assert sum(1 for a in fast if a) > 500  # enough valid numbers to mean something
