"""A weight CSV is read leniently in form (BOM, separator, column order) and strictly in content."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from survey_service.errors import Unprocessable
from survey_service.statistics.weight_csv import MAX_PROBLEMS, WeightRow, parse_weights_csv

A = "6f1c8a52-4f0e-4b8e-9d1e-0c9a4a7e2b11"
B = "0b7e2a4c-1d3f-4e5a-8b6c-7d8e9f0a1b2c"
C = "c0ffee00-1234-4abc-9def-000000000003"


def rejected(text: str | bytes, **options: Any) -> Unprocessable:
    """The 422 a CSV gets; its errors are checked by the caller."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    with pytest.raises(Unprocessable) as caught:
        parse_weights_csv(data, **options)
    error = caught.value
    assert error.code == "weights.invalid_csv"
    assert error.errors
    assert error.extra["problem_count"] >= len(error.errors)
    return error


def problems(text: str | bytes, **options: Any) -> list[tuple[str, str]]:
    return [(e["path"], e["code"]) for e in rejected(text, **options).errors or []]


def message(text: str | bytes) -> str:
    (error,) = rejected(text).errors or []
    return str(error["message"])


class TestAccepted:
    def test_rows_with_their_lines(self) -> None:
        rows = parse_weights_csv(f"instance_id,weight\n{A},152.75\n{B},3\n".encode())
        assert rows == [WeightRow(2, A, 152.75), WeightRow(3, B, 3.0)]

    def test_columns_in_any_order_and_case_with_spaces(self) -> None:
        text = f" PSU , Weight,Stratum ,INSTANCE_ID\nKG-017,1.5,urban,{A}\n"
        assert parse_weights_csv(text.encode()) == [WeightRow(2, A, 1.5, "urban", "KG-017")]

    def test_byte_order_mark(self) -> None:
        data = "\ufeffinstance_id,weight\n".encode() + f"{A},2\n".encode()
        assert parse_weights_csv(data) == [WeightRow(2, A, 2.0)]

    def test_semicolons_as_excel_writes_them_in_much_of_the_region(self) -> None:
        text = f"\ufeffinstance_id;weight;stratum\r\n{A};2.5;Chui, rural\r\n{B};1e2;Osh\r\n"
        rows = parse_weights_csv(text.encode())
        assert rows == [WeightRow(2, A, 2.5, "Chui, rural"), WeightRow(3, B, 100.0, "Osh")]

    def test_instance_ids_are_normalised(self) -> None:
        text = f"instance_id,weight\nuuid:{A.upper()},1\n  {B}  ,2\n"
        assert [r.instance_id for r in parse_weights_csv(text.encode())] == [A, B]

    def test_quoted_values_and_blank_lines(self) -> None:
        text = f'"instance_id","weight","psu"\n\n"{A}"," 0.5 ","cluster ""7"""\n,,\n{B},.25,x\n\n'
        rows = parse_weights_csv(text.encode())
        assert rows == [WeightRow(3, A, 0.5, psu='cluster "7"'), WeightRow(5, B, 0.25, psu="x")]

    def test_a_value_over_two_lines_counts_from_its_first(self) -> None:
        text = f'instance_id,weight,stratum\n{A},1,"north\nvalley"\n{B},2,south\n'
        rows = parse_weights_csv(text.encode())
        assert [(r.line, r.stratum) for r in rows] == [(2, "north\nvalley"), (4, "south")]

    def test_codes_up_to_100_characters(self) -> None:
        rows = parse_weights_csv(f"instance_id,weight,psu\n{A},1,{'p' * 100}\n".encode())
        assert rows[0].psu == "p" * 100

    def test_up_to_the_row_limit(self) -> None:
        text = f"instance_id,weight\n{A},1\n{B},1\n"
        assert len(parse_weights_csv(text.encode(), max_rows=2)) == 2


class TestFile:
    @pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"\n\n  \n", b",,\n"])
    def test_empty(self, data: bytes) -> None:
        assert problems(data) == [("line 1", "weights.invalid_csv")]
        assert "empty" in message(data)

    def test_header_only(self) -> None:
        assert problems("instance_id,weight\n\n") == [("line 1", "weights.invalid_csv")]
        assert message("instance_id,weight\n") == "the file has a header but no rows"

    def test_not_utf8_names_the_line(self) -> None:
        data = f"instance_id,weight,stratum\n{A},1,north\n{B},1,".encode() + "Ош\n".encode("cp1251")
        assert problems(data) == [("line 3", "weights.invalid_csv")]
        assert "UTF-8" in message(data)

    def test_too_many_rows(self) -> None:
        text = f"instance_id,weight\n{A},1\n{B},1\n{C},1\n"
        error = rejected(text, max_rows=2)
        assert [(e["path"], e["code"]) for e in error.errors or []] == [
            ("line 4", "weights.invalid_csv")
        ]
        assert "more than 2 rows" in str(error.errors)

    def test_broken_quoting_stops_reading_where_it_is(self) -> None:
        text = f'instance_id,weight\n{A},x\n"{B}"junk,1\n{C},0\n'
        assert problems(text) == [
            ("line 2.weight", "weights.invalid_row"),
            ("line 3", "weights.invalid_csv"),
        ]

    def test_unterminated_quote(self) -> None:
        assert problems(f'instance_id,weight\n{A},"1\n') == [("line 2", "weights.invalid_csv")]


class TestHeader:
    def test_required_columns(self) -> None:
        assert problems(f"instance_id,stratum\n{A},x\n") == [("line 1", "weights.missing_column")]
        assert "'weight'" in message(f"instance_id,stratum\n{A},x\n")
        assert problems("weight\n1\n") == [("line 1", "weights.missing_column")]

    def test_unknown_duplicate_and_unnamed_columns_all_reported(self) -> None:
        text = f"instance_id,weight,Weight,region,\n{A},1,1,x,\n"
        assert problems(text) == [
            ("line 1", "weights.duplicate_column"),
            ("line 1", "weights.unknown_column"),
            ("line 1", "weights.unknown_column"),
        ]
        messages = [e["message"] for e in rejected(text).errors or []]
        assert "unknown column 'region'" in messages[1]
        assert messages[2] == "column 5 has no name"

    def test_header_after_blank_lines(self) -> None:
        assert parse_weights_csv(f"\n\ninstance_id,weight\n{A},1\n".encode()) == [
            WeightRow(4, A, 1.0)
        ]

    def test_separator_comes_from_the_header_line_only(self) -> None:
        # a comma header: the semicolons further down are inside values
        text = f"instance_id,weight,psu\n{A},1,a;b;c;d\n"
        assert parse_weights_csv(text.encode())[0].psu == "a;b;c;d"
        # a semicolon header: "1,5" is a weight with a decimal comma, not two values
        assert problems(f"instance_id;weight\n{A};1,5\n") == [
            ("line 2.weight", "weights.invalid_row")
        ]


class TestRows:
    def test_every_problem_with_its_line_and_column(self) -> None:
        text = (
            "instance_id,weight,stratum,psu\n"
            f"{A},1,north,p1\n"
            "not-a-uuid,1,north,p1\n"
            f"{B},0,,p2\n"
            f"{C},-2,south,{'p' * 101}\n"
            f",abc,south,p3\n"
            f"{A.upper()},1,south,p4\n"
            f"{C},1,south\n"
        )
        assert problems(text) == [
            ("line 3.instance_id", "weights.invalid_row"),
            ("line 4.weight", "weights.invalid_row"),
            ("line 4.stratum", "weights.invalid_row"),
            ("line 5.weight", "weights.invalid_row"),
            ("line 5.psu", "weights.invalid_row"),
            ("line 6.instance_id", "weights.invalid_row"),
            ("line 6.weight", "weights.invalid_row"),
            ("line 7.instance_id", "weights.duplicate_instance"),
            ("line 8", "weights.invalid_row"),
        ]
        error = rejected(text)
        assert error.detail == "The CSV file has 9 problem(s); nothing was stored."
        by_path = {e["path"]: e["message"] for e in error.errors or []}
        assert by_path["line 3.instance_id"] == "'not-a-uuid' is not a UUID"
        assert by_path["line 7.instance_id"] == f"{A} is already on line 2"
        assert by_path["line 5.psu"] == "101 characters: at most 100"
        assert by_path["line 8"] == "3 value(s), but the header names 4 column(s)"

    def test_a_code_holding_nul_is_refused_as_no_database_here_stores_it(self) -> None:
        text = f"instance_id,weight,stratum,psu\n{A},1.5,north\x00,7\n{B},2,south,\x00\n"
        error = rejected(text)
        by_path = {e["path"]: e["message"] for e in error.errors or []}
        assert by_path == {
            "line 2.stratum": "holds U+0000, which cannot be stored",
            "line 3.psu": "holds U+0000, which cannot be stored",
        }

    @pytest.mark.parametrize(
        ("weight", "why"),
        [
            ("", "empty"),
            ("0", "not greater than 0"),
            ("-0.0", "not greater than 0"),
            ("1e-400", "not greater than 0"),
            ("1e400", "too large"),
            ("inf", "not a number"),
            ("nan", "not a number"),
            ("1_000", "not a number"),
            ("0x10", "not a number"),
            ("½", "not a number"),
            ("٣", "not a number"),  # an Arabic-Indic three: float() would take it
        ],
    )
    def test_weight_is_a_finite_number_above_zero(self, weight: str, why: str) -> None:
        text = f'instance_id,weight\n{A},"{weight}"\n'
        assert problems(text) == [("line 2.weight", "weights.invalid_row")]
        assert why in message(text)

    def test_decimal_comma_is_named(self) -> None:
        text = f'instance_id,weight\n{A},"1,25"\n'
        assert "decimal comma" in message(text)
        assert "decimal point" in message(text)

    def test_unquoted_decimal_comma_in_a_comma_file_splits_the_row(self) -> None:
        text = f"instance_id,weight\n{A},1,25\n"
        assert problems(text) == [("line 2", "weights.invalid_row")]
        assert "must be quoted" in message(text)

    @pytest.mark.parametrize("weight", ["1", "1.", ".5", "+2.5", "1E3", "2.5e-3", " 7 "])
    def test_number_forms(self, weight: str) -> None:
        rows = parse_weights_csv(f'instance_id,weight\n{A},"{weight}"\n'.encode())
        assert rows[0].weight == float(weight)

    def test_duplicates_point_at_the_first_line(self) -> None:
        text = f"instance_id,weight\n{A},1\n{B},1\nuuid:{A},2\n{A},3\n"
        error = rejected(text)
        assert [(e["path"], e["message"]) for e in error.errors or []] == [
            ("line 4.instance_id", f"{A} is already on line 2"),
            ("line 5.instance_id", f"{A} is already on line 2"),
        ]

    def test_the_list_is_capped_and_says_how_many_more(self) -> None:
        lines = [f"{uuid.uuid4()},0" for _ in range(MAX_PROBLEMS + 50)]
        error = rejected("instance_id,weight\n" + "\n".join(lines))
        assert len(error.errors or []) == MAX_PROBLEMS
        assert error.extra["problem_count"] == MAX_PROBLEMS + 50
        assert "The first 100 are listed, 50 more are not." in error.detail
        assert (error.errors or [])[-1]["path"] == f"line {MAX_PROBLEMS + 1}.weight"
