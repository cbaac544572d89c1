"""The plan: what hangs on a rejected answer, how ${name} resolves across scopes, and results
remembered across responses."""

from __future__ import annotations

from typing import Any

from survey_service.questionnaire.definition import load_definition
from survey_service.validation import ResponseValidator
from tests.helpers import changed, check, codes, minimal_definition, set_answer


def test_a_rejected_answer_is_reported_alone() -> None:
    """A rejected answer is empty for expressions. What they conclude from that is not
    reported: the answer's own error says what is wrong."""
    # an empty size would make three members a count mismatch, and fail the constraints
    # `${hh_size} > 1` and `. <= ${hh_size}` of other answers
    result = check(changed(set_answer("household.hh_size", "three")))
    assert codes(result) == [("household.hh_size", "response.invalid_type")]
    # not a list of choices: the calculation hazard_affected reads it, and the relevance of
    # the worst hazard, the impacts and the displacement history reads that
    result = check(changed(set_answer("hazard_exposure.hazards_experienced", "flood")))
    assert codes(result) == [("hazard_exposure.hazards_experienced", "response.invalid_type")]


def test_what_does_not_read_a_rejected_answer_is_still_reported() -> None:
    def edit(h: dict[str, Any]) -> None:
        h["household"]["hh_size"] = "three"
        h["household"]["members"][1]["member_sex"] = "?"
        h["migration_remittances"]["remittance_amount"] = -5

    assert codes(check(changed(edit))) == [
        ("household.hh_size", "response.invalid_type"),
        ("household.members[1].member_sex", "response.invalid_choice"),
        ("migration_remittances.remittance_amount", "response.constraint_failed"),
    ]


def test_cached_constraint_results_agree_with_evaluation() -> None:
    for age, ok in [(150, False), (3, True), (150, False), (-1, False), (0, True)]:
        household = changed(set_answer("household.members[2].member_age", age))
        assert check(household).ok is ok


def test_node_sets_count_sum_and_max() -> None:
    definition = minimal_definition()
    definition["questions"] += [
        {"name": "total_age", "type": "calculate", "calculation": "sum(${age})"},
        {"name": "oldest", "type": "calculate", "calculation": "max(${age})"},
        {"name": "women", "type": "calculate", "calculation": "count-selected(${sex})"},
        {
            "name": "adults_note",
            "type": "note",
            "label": {"en": "Adults"},
            "relevant": "count(${age}) > 2",
        },
    ]
    validator = ResponseValidator(load_definition(definition))
    members = [{"sex": "F", "age": 30}, {"sex": "M", "age": 41}, {"sex": "F"}]
    result = validator.validate(
        {"country": "KG", "cluster": "c1", "hh_size": 3, "members": members}
    )
    assert result.errors == []
    assert result.answers["n_members"] == 3  # count() counts every instance's node
    assert result.answers["total_age"] == 71  # sum() skips the empty one
    assert result.answers["oldest"] == 41
    assert result.answers["women"] == 1  # a node-set used as a value is its first item


def test_position_and_siblings_inside_a_repeat() -> None:
    definition = minimal_definition()
    definition["questions"][5]["questions"] += [
        {"name": "line", "type": "calculate", "calculation": "position(..)"},
        {
            "name": "label",
            "type": "calculate",
            "calculation": "concat(position(..), ':', ${sex}, ':', ${hh_size})",
        },
    ]
    validator = ResponseValidator(load_definition(definition))
    members = [{"sex": "F", "age": 30}, {"sex": "M", "age": 41}]
    result = validator.validate(
        {"country": "KG", "cluster": "c1", "hh_size": 2, "members": members}
    )
    assert result.errors == []
    assert [m["line"] for m in result.answers["members"]] == [1, 2]
    assert [m["label"] for m in result.answers["members"]] == ["1:F:2", "2:M:2"]


def test_calculations_in_any_order() -> None:
    definition = minimal_definition()
    definition["questions"] += [
        {"name": "b", "type": "calculate", "calculation": "${a} * 2"},
        {"name": "a", "type": "calculate", "calculation": "${hh_size} + 1"},
    ]
    validator = ResponseValidator(load_definition(definition))
    result = validator.validate({"country": "KG", "cluster": "c1", "hh_size": 1, "members": [{}]})
    assert (result.answers["a"], result.answers["b"]) == (2, 4)


def test_remembered_results_follow_the_answers() -> None:
    """Expensive expressions are remembered by the values they read, across responses."""
    cases = [("town", "KG-U"), ("village", "KG-R"), ("city", "KG-U"), ("remote", "KG-R")]
    for settlement, stratum in cases * 2:
        household = changed(set_answer("identification.settlement_type", settlement))
        result = check(household)
        assert result.ok
        assert result.answers["identification"]["stratum"] == stratum
        assert result.design["stratum"] == stratum
    statuses = [("IDP_RETURNED", "no", True), ("IDP", "no", False), ("IDP", "yes", True)]
    for status, forced, ok in statuses * 2:

        def edit(h: dict[str, Any], status: str = status, forced: str = forced) -> None:
            h["current_status"].update(displacement_status=status, forced_move_other=forced)

        assert check(changed(edit)).ok is ok
    for region, ok in [("KG-C", True), ("TJ-SU", False), ("KG-T", True), ("TJ-SU", False)]:
        assert check(changed(set_answer("identification.region", region))).ok is ok


def test_a_choice_filter_on_labels_follows_the_language() -> None:
    definition = minimal_definition()
    definition["questions"][5]["questions"][0]["choice_filter"] = "label != 'Male'"
    validator = ResponseValidator(load_definition(definition))
    answers = {"country": "KG", "cluster": "c1", "hh_size": 1, "members": [{"sex": "M"}]}
    for language, ok in [("en", False), ("ru", True), (None, False), ("ru", True)]:
        result = validator.validate(answers, language=language)
        assert result.ok is ok
        if not ok:
            assert [(e.path, e.code) for e in result.errors] == [
                ("members[0].sex", "response.invalid_choice")
            ]
