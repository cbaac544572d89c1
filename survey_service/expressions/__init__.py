"""The XLSForm expression language (pure): parsing, XPath values, evaluation and SQL compiling.

Its users import from here: `parse` a text once into an `Expression`, evaluate it on a
context, or compile its syntax tree to SQL (`survey_service.expressions.sql`). It imports
nothing of the questionnaire or the validator, which both build on it.
"""

from survey_service.expressions.evaluator import (
    ALLOWED_FUNCTIONS,
    EvalContext,
    Expression,
    ExpressionError,
    SyntaxNode,
    Value,
    parse,
    syntax_tree,
    to_boolean,
    to_number,
    to_string,
)

__all__ = [
    "ALLOWED_FUNCTIONS",
    "EvalContext",
    "Expression",
    "ExpressionError",
    "SyntaxNode",
    "Value",
    "parse",
    "syntax_tree",
    "to_boolean",
    "to_number",
    "to_string",
]
