"""The XLSForm expression language (pure): parsing, XPath values, evaluation and SQL compiling.

Its users import from here: `parse` a text once into an `Expression`, evaluate it on a
context, or compile its syntax tree to SQL (`survey_service.expressions.sql`). `FUNCTIONS`
declares the language's functions, for all of them. It imports nothing of the
questionnaire or the validator, which both build on it.

Modules: `syntax` (tokenizer, parser, syntax tree), `values` (XPath values and their
coercions, comparisons and arithmetic), `functions` (the registry and implementations),
`regex` (the linear-time matcher behind regex()), `evaluator` (closures, `parse`) and
`sql` (aggregates' SQL).
"""

from survey_service.expressions.evaluator import EvalContext, Expression, parse
from survey_service.expressions.functions import FUNCTIONS, Function
from survey_service.expressions.syntax import ExpressionError, SyntaxNode, syntax_tree
from survey_service.expressions.values import Value, to_boolean, to_number, to_string

__all__ = [
    "FUNCTIONS",
    "EvalContext",
    "Expression",
    "ExpressionError",
    "Function",
    "SyntaxNode",
    "Value",
    "parse",
    "syntax_tree",
    "to_boolean",
    "to_number",
    "to_string",
]
