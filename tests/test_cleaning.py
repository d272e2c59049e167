"""Cleaning: text, several phone numbers per cell, emails and company comparison keys."""

import pytest

from hub.core.normalize import normalize_phone, split_extension
from hub.core.refusals import FieldError
from hub.crm.intake.cleaning import (
    cell_text,
    clean_email,
    clean_text,
    company_key,
    email_key,
    is_mobile,
    phone_extensions,
    split_phones,
)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  北京　华强  电子 ", "北京 华强 电子"),  # ideographic space, runs of spaces
        ("ＡＢＣ　１２３", "ABC 123"),  # full-width letters and digits
        ("line\tone\r\nline two", "line one line two"),
        ("\u00a0nbsp\u00a0", "nbsp"),
        (None, ""),
        ("", ""),
        ("张三", "张三"),
    ],
)
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean


def test_cell_text_of_numeric_cells():
    assert cell_text(13800138000.0) == "13800138000"
    assert cell_text(12.5) == "12.5"
    assert cell_text(42) == "42"
    assert cell_text(" ａ ") == "a"


@pytest.mark.parametrize(
    ("raw", "numbers"),
    [
        ("13800138000", ["+8613800138000"]),
        ("１３８ ００１３ ８０００", ["+8613800138000"]),  # full-width digits
        ("+86 138-0013-8000", ["+8613800138000"]),
        ("8613800138000", ["+8613800138000"]),
        ("(010) 8888-6666", ["+861088886666"]),
        ("010-88886666", ["+861088886666"]),
        ("13800138000 / 010-88886666", ["+8613800138000", "+861088886666"]),
        ("13800138000；13900139000", ["+8613800138000", "+8613900139000"]),
        ("13800138000、13900139000", ["+8613800138000", "+8613900139000"]),
        ("13800138000,13800138000", ["+8613800138000"]),  # the same twice is one
        ("13800138000 13900139000", ["+8613800138000", "+8613900139000"]),
        ("+1 (415) 555-2671", ["+14155552671"]),
        ("", []),
        ("   ", []),
    ],
)
def test_split_phones(raw, numbers):
    assert split_phones(raw, "CN") == numbers


@pytest.mark.parametrize("raw", ["12345", "13800138000 / call me", "abc", "138001380001234567"])
def test_a_cell_with_a_part_that_is_not_a_number_is_refused_naming_it(raw):
    with pytest.raises(FieldError) as err:
        split_phones(raw, "CN")
    assert err.value.field == "phone"
    assert "not a valid phone number" in err.value.message


def test_mobile_numbers_are_told_from_landlines():
    assert is_mobile("+8613800138000")
    assert not is_mobile("+861088886666")


def test_clean_email():
    assert clean_email(" Li.Ming@Example.COM ") == "Li.Ming@example.com"
    assert clean_email("ｌｉ＠ｅｘａｍｐｌｅ．ｃｏｍ") == "li@example.com"
    assert clean_email("") is None
    assert email_key(clean_email("Li.Ming@Example.COM")) == "li.ming@example.com"
    for bad in ("li@", "not an email", "a@b@c.com"):
        with pytest.raises(FieldError) as err:
            clean_email(bad)
        assert err.value.field == "email"


@pytest.mark.parametrize(
    "names",
    [
        (
            "深圳市华强电子有限公司",
            "深圳市华强电子",
            "深圳市华强电子股份有限公司",
            "深圳市 华强电子（有限公司）",
        ),
        ("上海申通物流有限责任公司", "上海申通物流", "上海申通物流集团有限公司"),
        ("Acme Co., Ltd.", "ACME", "Acme Inc.", "Acme, LLC", "acme limited", "Ａｃｍｅ Corp"),
        ("华强电子 Co., Ltd.", "华强电子有限公司", "华强电子co.,ltd"),
    ],
)
def test_company_key_ignores_legal_suffixes_punctuation_and_case(names):
    keys = {company_key(n) for n in names}
    assert len(keys) == 1, keys
    assert keys.pop()  # never empty


def test_company_key_keeps_what_tells_companies_apart():
    assert company_key("Costco") != company_key("Cost")  # "co" inside a word is not a suffix
    assert company_key("华强电子") != company_key("华强电器")
    assert company_key("有限公司") == "有限公司"  # nothing but a suffix: kept, not empty
    assert company_key("A&B Trading Ltd") == company_key("A and B Trading")


def test_match_block_skips_the_city_name():
    from hub.crm.intake.cleaning import match_block

    key = company_key
    assert match_block(key("深圳市华强电子有限公司"), "深圳") == "华强"
    assert match_block(key("深圳华强电子股份有限公司"), "深圳市") == "华强"
    assert match_block(key("华强电子"), "深圳") == "华强"
    assert match_block(key("Acme Inc."), "Boston") == "ac"
    assert match_block(key("华强电子"), None) == "华强"


@pytest.mark.parametrize(
    ("raw", "e164", "ext"),
    [
        ("010-6552 9988 转 123", "+861065529988", "123"),
        ("010-65529988转123", "+861065529988", "123"),
        ("０１０－６５５２９９８８ 转 １２３", "+861065529988", "123"),  # full-width
        ("010-6552 9988（转123）", "+861065529988", "123"),
        ("010-6552 9988 分机 8", "+861065529988", "8"),
        ("010-6552 9988 分机：8", "+861065529988", "8"),
        ("+1 415 555 0100 ext. 45", "+14155550100", "45"),
        ("+1 415 555 0100 ext 45", "+14155550100", "45"),
        ("+1 415 555 0100 x45", "+14155550100", "45"),
        ("+1 415 555 0100 X 45", "+14155550100", "45"),
        ("+1 415 555 0100 #45", "+14155550100", "45"),
        ("13800138000", "+8613800138000", None),
    ],
)
def test_phone_extensions_are_understood_not_refused(raw, e164, ext):
    assert split_extension(raw)[1] == ext
    assert normalize_phone(raw, "CN") == e164
    assert split_phones(raw, "CN") == [e164]
    assert phone_extensions(raw, "CN") == ({e164: ext} if ext else {})


def test_extensions_in_a_cell_of_several_numbers_belong_to_their_own_number():
    cell = "13800138000 / 010-6552 9988 转 123"
    assert split_phones(cell, "CN") == ["+8613800138000", "+861065529988"]
    assert phone_extensions(cell, "CN") == {"+861065529988": "123"}


@pytest.mark.parametrize("raw", ["x45", "转 123", "12345 转 6", "010-6552 9988 转 1234567"])
def test_an_extension_without_a_valid_number_is_still_refused(raw):
    with pytest.raises(FieldError):
        split_phones(raw, "CN")
