"""The importer's fast layer for Chinese mobiles answers exactly as normalize_phone does."""

import random

import pytest

from hub.core.normalize import normalize_phone
from hub.core.quick_phone import quick_is_mobile, quick_phone
from hub.core.refusals import FieldError
from hub.crm.intake.cleaning import is_mobile


def _answer(fn, text: str, region: str) -> str:
    try:
        return fn(text, region)
    except FieldError as exc:
        return f"refused: {exc.message}"


def _spellings(digits: str) -> list[str]:
    d = digits
    return [
        d,
        f"+86 {d[:3]}-{d[3:7]}-{d[7:]}",
        f"{d[:3]} {d[3:7]} {d[7:]}",
        f"{d[:3]}-{d[3:7]}-{d[7:]}",
        "86" + d,
        "86 " + d,
        "+86" + d,
        "0086 " + d,
        "0086" + d,
    ]


def test_every_spelling_of_random_numbers_gets_normalize_phones_answer():
    # Numbers starting 1 (valid mobiles, and ranges that are not allocated: 12x, 140, 199...)
    # and any 11 digits; the fast layer must never accept what phonenumbers refuses.
    rnd = random.Random(7)
    numbers = ["1" + f"{rnd.randrange(10**10):010d}" for _ in range(600)]
    numbers += [f"{rnd.randrange(10**11):011d}" for _ in range(150)]
    numbers += ["13800138000", "19999999999", "14000000000", "12345678901", "16200000000"]
    checked = 0
    for number in numbers:
        for text in _spellings(number):
            for region in ("CN", "US"):
                assert _answer(quick_phone, text, region) == _answer(
                    normalize_phone, text, region
                ), (text, region)
                checked += 1
    assert checked == len(numbers) * 18


def test_landlines_get_normalize_phones_answer():
    rnd = random.Random(8)
    areas = ["10", "20", "21", "28", "755", "571", "512", "851", "978", "999", "100", "123"]
    checked = 0
    for _ in range(600):
        area = rnd.choice(areas) if rnd.random() < 0.7 else str(rnd.randrange(10, 1000))
        subscriber = str(rnd.randrange(10**6, 10**8))
        for sep in ("-", " ", ""):
            text = f"0{area}{sep}{subscriber}"
            assert _answer(quick_phone, text, "CN") == _answer(normalize_phone, text, "CN"), text
            checked += 1
    assert checked == 1800


@pytest.mark.parametrize(
    "text",
    ["010-8888 6666", "(010) 88886666", "+1 212 555 0100", "12345", "138 0013 800", "１３８"],
)
def test_other_numbers_go_to_normalize_phone(text):
    assert _answer(quick_phone, text, "CN") == _answer(normalize_phone, text, "CN")


def test_mobile_or_landline_as_is_mobile_says():
    for e164 in ("+8613800138000", "+861088886666", "+8675588886666", "+12125550100"):
        assert quick_is_mobile(e164) == is_mobile(e164)
