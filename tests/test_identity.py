import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from apps.core.identity import (
    id_check_digit,
    mask_id_number,
    mask_mobile,
    mask_name,
    normalise_mobile,
    validate_id_number,
    validate_mobile,
)
from apps.core.logging import mask_text

from .conftest import ID_A, ID_B


@pytest.mark.parametrize(
    "raw",
    [
        "13912345678",
        "139 1234 5678",
        "139-1234-5678",
        "１３９１２３４５６７８",
        "+86 139 1234 5678",
        "0086-13912345678",
    ],
)
def test_mobile_numbers_are_normalised(raw):
    assert validate_mobile(raw) == "13912345678"


@pytest.mark.parametrize(
    "raw", ["12912345678", "1391234567", "139123456789", "23912345678", "1391234567a", ""]
)
def test_bad_mobile_numbers_are_refused(raw):
    with pytest.raises(ValidationError):
        validate_mobile(raw)


def test_valid_id_numbers_pass_and_lower_case_x_is_upper_cased():
    assert validate_id_number(ID_B) == ID_B
    assert validate_id_number(ID_A.lower()) == ID_A
    assert validate_id_number(" ６２１１０２１９９００５０５００３８ ") == ID_B


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("621102199005050031", "id_checksum"),  # wrong check digit
        ("62110219900505003", "id_format"),  # 17 characters
        ("62110219900505003Y", "id_format"),
        ("621102199002300035", "id_birth_date"),  # 30 February
        ("621102189912310012", "id_birth_date"),  # born 1899
    ],
)
def test_bad_id_numbers_are_refused_with_a_reason(number, code):
    with pytest.raises(ValidationError) as info:
        validate_id_number(number)
    assert info.value.code == code


@time_machine.travel(dt.datetime(2026, 11, 22, 12, tzinfo=dt.UTC))
def test_an_id_number_born_tomorrow_is_refused():
    body = "62110220261123001"
    with pytest.raises(ValidationError) as info:
        validate_id_number(body + id_check_digit(body))
    assert info.value.code == "id_birth_date"


def test_masks():
    assert mask_id_number("620102199001011234") == "620102********1234"
    assert mask_mobile("13812348000") == "138****8000"
    assert mask_name("张三") == "张*"
    assert mask_name("魏家常") == "魏*常"
    assert mask_name("欧阳小明") == "欧**明"
    assert normalise_mobile("１３８") == "138"


def test_log_lines_never_carry_full_numbers():
    line = f"user {ID_A} phone 13912345678 took 0.00327799999990034s"
    masked = mask_text(line)
    assert ID_A not in masked and "13912345678" not in masked
    assert "621102********107X" in masked and "139****5678" in masked
    assert "0.00327799999990034s" in masked  # durations are left alone


@pytest.mark.parametrize("number", ["11010519491231002X", ID_A, ID_B])
def test_published_example_numbers_pass_the_check_digit(number):
    # 11010519491231002X is the standard's own example; stdnum agrees on every number.
    from stdnum.cn import ric

    assert ric.calc_check_digit(number) == number[-1]
    assert validate_id_number(number) == number


def test_a_single_changed_digit_is_caught():
    wrong = ID_B[:10] + str((int(ID_B[10]) + 1) % 10) + ID_B[11:]
    with pytest.raises(ValidationError):
        validate_id_number(wrong)
