"""Form media checks: names, kinds and contents, without HTTP or a database."""

from __future__ import annotations

import re

import pytest

from survey_service.media import (
    MEDIA_TYPES,
    NAME_PATTERN,
    MediaError,
    check_content,
    check_filename,
    read_csv,
)


@pytest.mark.parametrize(
    ("filename", "media_type"),
    [
        ("villages.csv", "text/csv"),
        ("Villages.CSV", "text/csv"),
        ("regions.geojson", "application/geo+json"),
        ("items.xml", "application/xml"),
        ("photo 1.JPG", "image/jpeg"),
        ("звук.m4a", "audio/mp4"),
        ("clip.mp4", "video/mp4"),
    ],
)
def test_accepted_names_give_the_extension_media_type(filename: str, media_type: str) -> None:
    assert check_filename(filename) == media_type
    assert re.fullmatch(NAME_PATTERN, filename)


@pytest.mark.parametrize(
    ("filename", "code"),
    [
        ("", "media.invalid_name"),
        (".csv", "media.invalid_name"),
        ("../villages.csv", "media.invalid_name"),
        ("dir/villages.csv", "media.invalid_name"),
        ("dir\\villages.csv", "media.invalid_name"),
        ("villages.csv.", "media.invalid_name"),
        ("a|b.csv", "media.invalid_name"),
        ("new\nline.csv", "media.invalid_name"),
        ("nul\x00.csv", "media.invalid_name"),
        ("ж" * 126 + ".csv", "media.invalid_name"),  # 256 bytes in UTF-8
        ("villages.xlsx", "media.unsupported_type"),
        ("page.html", "media.unsupported_type"),
        ("drawing.svg", "media.unsupported_type"),
        ("data.json", "media.unsupported_type"),
        ("README", "media.unsupported_type"),
    ],
)
def test_refused_names(filename: str, code: str) -> None:
    with pytest.raises(MediaError) as refused:
        check_filename(filename)
    assert refused.value.code == code
    if code == "media.invalid_name":
        assert not re.fullmatch(NAME_PATTERN, filename) or len(filename.encode()) > 255


def test_every_extension_has_a_content_check() -> None:
    for extension in MEDIA_TYPES:
        with pytest.raises(MediaError) as refused:
            check_content(f"f.{extension}", b"\x01\x02 certainly not this kind of file")
        assert refused.value.code.startswith("media.")


def test_csv_rows_by_header_skipping_blank_lines_and_a_bom() -> None:
    rows = read_csv(b'\xef\xbb\xbfname,label\r\nv1,"Ak-Suu, centre"\r\n\r\nv2,\r\n')
    assert [dict(r) for r in rows] == [
        {"name": "v1", "label": "Ak-Suu, centre"},
        {"name": "v2", "label": ""},
    ]
    assert read_csv(b"name,label\n") == []


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\n\n",
        b"name,label\nv1\n",
        b'name,label\nv1,"open\n',
        b"name,\xff\n",
        b"name,label\nv1,a\x00b\n",
    ],
)
def test_refused_csv(data: bytes) -> None:
    with pytest.raises(MediaError) as refused:
        read_csv(data)
    assert refused.value.code == "media.invalid_csv"


def test_csv_problems_are_counted_beyond_those_listed() -> None:
    data = b"name,label\n" + b"v\n" * 150
    with pytest.raises(MediaError) as refused:
        read_csv(data)
    assert len(refused.value.problems) == 100 and refused.value.problem_count == 150
    assert refused.value.problems[0].path == "line 2"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"<a><b>1</b></a>", None),
        (b"<a>", "media.invalid_xml"),
        (b'<!DOCTYPE a SYSTEM "http://example.org/a.dtd"><a/>', "media.forbidden_xml"),
        (
            b'<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]><a>&e;</a>',
            "media.forbidden_xml",
        ),
    ],
)
def test_xml(data: bytes, code: str | None) -> None:
    if code is None:
        check_content("items.xml", data)
        return
    with pytest.raises(MediaError) as refused:
        check_content("items.xml", data)
    assert refused.value.code == code


POINT = '{"type": "Point", "coordinates": [74.6, 42.9]}'


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (
            f'{{"type": "FeatureCollection", "features": [{{"type": "Feature", "id": "a", '
            f'"geometry": {POINT}}}]}}',
            None,
        ),
        ('{"type": "FeatureCollection", "features": []}', None),
        ("[]", "one FeatureCollection"),
        ('{"type": "FeatureCollection"}', "no list of features"),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "id": "a"}]}',
            "no geometry",
        ),
        (
            f'{{"type": "FeatureCollection", "features": [{{"type": "Feature", "id": true, '
            f'"geometry": {POINT}}}]}}',
            "no id",
        ),
        (
            f'{{"type": "FeatureCollection", "features": [{{"type": "Feature", '
            f'"properties": {{"id": 1}}, "geometry": {POINT}}}, {{"type": "Feature", "id": "1", '
            f'"geometry": {POINT}}}]}}',
            "used twice",
        ),
        ("{" * 100_000, "not JSON"),
    ],
)
def test_geojson(document: str, problem: str | None) -> None:
    if problem is None:
        check_content("sites.geojson", document.encode())
        return
    with pytest.raises(MediaError) as refused:
        check_content("sites.geojson", document.encode())
    assert refused.value.code == "media.invalid_geojson"
    found = [refused.value.message, *(p.message for p in refused.value.problems)]
    assert any(problem in text for text in found), found
