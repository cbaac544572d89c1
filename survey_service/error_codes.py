"""The catalogue of every error code the service answers with: each defined here once.

A code is the stable part of a problem (`application/problem+json`'s `code`, and the `code`
of each field error in its `errors` list): clients key on it, so a code is never renamed or
reused for another meaning. The HTTP status comes from the error raised, not from the code.
Raise sites and field errors name these constants; `tests/unit/test_error_codes.py` fails
when a code is written as a literal anywhere else in the package, or listed here unused.
"""

from __future__ import annotations

from typing import Final

# -- the request itself (api/problems.py, api/body.py, errors.invalid_request) --------------
REQUEST_BAD_REQUEST: Final = "request.bad_request"  # any other malformed request (400)
REQUEST_CONFLICT: Final = "request.conflict"  # the database refused a concurrent change (409)
REQUEST_INVALID: Final = "request.invalid"  # a body or query of the wrong shape (422)
REQUEST_INVALID_FIELD: Final = "request.invalid_field"  # one field of such a body
REQUEST_INVALID_CURSOR: Final = "request.invalid_cursor"  # a listing cursor we did not issue
REQUEST_INVALID_JSON: Final = "request.invalid_json"  # a body that is not JSON (or too deep)
# text no database here can store (U+0000, a lone UTF-16 surrogate), listed at its paths (422)
REQUEST_INVALID_TEXT: Final = "request.invalid_text"
REQUEST_METHOD_NOT_ALLOWED: Final = "request.method_not_allowed"  # 405
REQUEST_MISSING_FILE: Final = "request.missing_file"  # an upload without its file part
REQUEST_NOT_ACCEPTABLE: Final = "request.not_acceptable"  # no representation asked for (406)
REQUEST_NOT_FOUND: Final = "request.not_found"  # no such URL (404)
REQUEST_TOO_LARGE: Final = "request.too_large"  # a body over its configured limit (413)
REQUEST_TOO_MANY: Final = "request.too_many"  # too many requests (429)
REQUEST_UNSUPPORTED_MEDIA_TYPE: Final = "request.unsupported_media_type"  # 415
BATCH_TOO_LARGE: Final = "batch.too_large"  # a batch over SURVEY_MAX_BATCH_SIZE
DATABASE_UNAVAILABLE: Final = "database.unavailable"  # the database cannot be reached (503)
SERVER_INTERNAL_ERROR: Final = "server.internal_error"  # a fault of ours, logged (500)

# -- authentication and rights -------------------------------------------------------------
AUTH_REQUIRED: Final = "auth.required"  # no credentials sent (401)
AUTH_MALFORMED: Final = "auth.malformed"  # an Authorization header we cannot read
AUTH_UNSUPPORTED_SCHEME: Final = "auth.unsupported_scheme"  # neither Bearer nor Basic
AUTH_INVALID_TOKEN: Final = "auth.invalid_token"  # unknown, revoked or inactive token
AUTH_INVALID_CREDENTIALS: Final = "auth.invalid_credentials"  # wrong name, password or token
AUTH_FORBIDDEN: Final = "auth.forbidden"  # the role or countries do not allow it (403)

# -- accounts and tokens --------------------------------------------------------------------
USER_EXISTS: Final = "user.exists"  # the name is taken
USER_INVALID: Final = "user.invalid"  # an account change that cannot be made
USER_INVALID_COUNTRY: Final = "user.invalid_country"  # not an ISO 3166-1 alpha-2 code
USER_INVALID_NAME: Final = "user.invalid_name"  # a name outside the allowed characters
USER_MIXED_SCRIPT_NAME: Final = "user.mixed_script_name"  # letters of two scripts (Latin, Cyrillic)
USER_CONFUSABLE_NAME: Final = "user.confusable_name"  # looks like an existing user's name
USER_INVALID_ROLE: Final = "user.invalid_role"  # not one of the roles
USER_NOT_FOUND: Final = "user.not_found"
USER_WEAK_PASSWORD: Final = "user.weak_password"  # too short for a field client's password
USER_BEYOND_SCOPE: Final = "user.beyond_scope"  # countries a restricted admin does not have (403)
USER_OUT_OF_SCOPE: Final = "user.out_of_scope"  # a user beyond a restricted admin's countries
TOKEN_NOT_FOUND: Final = "token.not_found"

# -- questionnaires and their definitions ---------------------------------------------------
QUESTIONNAIRE_NOT_FOUND: Final = "questionnaire.not_found"
QUESTIONNAIRE_EXISTS: Final = "questionnaire.exists"  # create with an id already in use
QUESTIONNAIRE_UNCHANGED: Final = "questionnaire.unchanged"  # publish a draft equal to the last
QUESTIONNAIRE_UNPUBLISHED: Final = "questionnaire.unpublished"  # no version to answer yet
QUESTIONNAIRE_CLOSED: Final = "questionnaire.closed"  # closed to new responses
# publishing a definition that names a media file (`choices_file`) its draft lacks (409)
QUESTIONNAIRE_MISSING_MEDIA: Final = "questionnaire.missing_media"
QUESTIONNAIRE_VERSION_NOT_FOUND: Final = "questionnaire.version_not_found"
DEFINITION_INVALID: Final = "definition.invalid"  # the definition has problems (422), listed
DEFINITION_UNREADABLE: Final = "definition.unreadable"  # a body that is no definition at all
DEFINITION_SCHEMA: Final = "definition.schema"  # a value of the wrong JSON shape
DEFINITION_TOO_DEEP: Final = "definition.too_deep"  # groups or values nested past the limit
DEFINITION_ID_MISMATCH: Final = "definition.id_mismatch"  # the id differs from the URL's
DEFINITION_INVALID_CHOICE_NAME: Final = "definition.invalid_choice_name"  # space, multiple
DEFINITION_DUPLICATE_NAME: Final = "definition.duplicate_name"  # two questions of one name
DEFINITION_RESERVED_NAME: Final = "definition.reserved_name"  # a name the service keeps
DEFINITION_MISSING_PROPERTY: Final = "definition.missing_property"  # e.g. a select's list
DEFINITION_INVALID_PROPERTY: Final = "definition.invalid_property"  # one its type cannot have
DEFINITION_MISSING_TRANSLATION: Final = "definition.missing_translation"  # a language lacking
DEFINITION_UNKNOWN_CHOICE_LIST: Final = "definition.unknown_choice_list"
DEFINITION_INVALID_BINDING: Final = "definition.invalid_binding"  # a tag or design role's
DEFINITION_EXPRESSION_SYNTAX: Final = "definition.expression_syntax"  # an expression's syntax
DEFINITION_UNKNOWN_FUNCTION: Final = "definition.unknown_function"  # or wrong arity
DEFINITION_UNKNOWN_REFERENCE: Final = "definition.unknown_reference"  # ${name} of no question
DEFINITION_CALCULATION_CYCLE: Final = "definition.calculation_cycle"  # calculations in a loop

# -- XLSForm spreadsheets (the 422 lists them at sheet!cell) --------------------------------
XLSFORM_INVALID: Final = "xlsform.invalid"  # the spreadsheet has problems, listed
XLSFORM_UNREADABLE: Final = "xlsform.unreadable"  # not an .xlsx or .xls workbook
XLSFORM_MISSING_SHEET: Final = "xlsform.missing_sheet"  # no survey sheet
XLSFORM_MISSING_COLUMN: Final = "xlsform.missing_column"  # e.g. a survey sheet without type
XLSFORM_MISSING_TYPE: Final = "xlsform.missing_type"  # a named row with no type
XLSFORM_UNSUPPORTED_SHEET: Final = "xlsform.unsupported_sheet"
XLSFORM_UNSUPPORTED_COLUMN: Final = "xlsform.unsupported_column"
XLSFORM_UNSUPPORTED_TYPE: Final = "xlsform.unsupported_type"
XLSFORM_UNSUPPORTED_FUNCTION: Final = "xlsform.unsupported_function"
XLSFORM_INVALID_VALUE: Final = "xlsform.invalid_value"  # a cell's value its column refuses
XLSFORM_STRUCTURE: Final = "xlsform.structure"  # begin/end group or repeat not matching
XLSFORM_REJECTED: Final = "xlsform.rejected"  # pyxform cannot build it as an XForm
XLSFORM_ENCRYPTED: Final = "xlsform.encrypted"  # a public_key: the server must read the answers
# warnings of an accepted XLSForm (kept with the draft): something was ignored or guessed
XLSFORM_IGNORED_COLUMN: Final = "xlsform.ignored_column"  # a column without meaning here
XLSFORM_IGNORED_SETTING: Final = "xlsform.ignored_setting"  # a setting without meaning here
XLSFORM_IGNORED_VALUE: Final = "xlsform.ignored_value"  # e.g. `required` on a note or group
XLSFORM_QUOTES_FIXED: Final = "xlsform.quotes_fixed"  # typographic quotes in an expression
XLSFORM_LANGUAGE_NAMED: Final = "xlsform.language_named"  # `label::Français`: code guessed
XLSFORM_MISSING_TRANSLATION: Final = "xlsform.missing_translation"  # default text filled in
XLSFORM_CHOICE_NAME: Final = "xlsform.choice_name"  # accents, apostrophes or spaces in a name
XLSFORM_FORBIDDEN_XML: Final = "xlsform.forbidden_xml"  # a part with a DTD or entities
# a workbook over one of its limits (413; questionnaire/xlsform/limits.py documents them)
XLSFORM_TOO_MANY_ENTRIES: Final = "xlsform.too_many_entries"  # files in the .xlsx archive
XLSFORM_TOO_LARGE: Final = "xlsform.too_large"  # uncompressed bytes of a part or of all
XLSFORM_COMPRESSION_RATIO: Final = "xlsform.compression_ratio"  # a part inflates too much
XLSFORM_TOO_MANY_ROWS: Final = "xlsform.too_many_rows"  # rows of a sheet
XLSFORM_TOO_MANY_COLUMNS: Final = "xlsform.too_many_columns"  # columns of a sheet
XLSFORM_TOO_MANY_CELLS: Final = "xlsform.too_many_cells"  # cells of the workbook

# -- responses: intake, revisions, review ---------------------------------------------------
RESPONSE_INVALID: Final = "response.invalid"  # answers failed validation (422), listed
RESPONSE_CONFLICT: Final = "response.conflict"  # an instance id already used for other answers
RESPONSE_COUNTRY_FORBIDDEN: Final = "response.country_forbidden"  # outside the user's countries
RESPONSE_INVALID_INSTANCE_ID: Final = "response.invalid_instance_id"
RESPONSE_INVALID_REVIEW_STATE: Final = "response.invalid_review_state"
RESPONSE_NOT_FOUND: Final = "response.not_found"
RESPONSE_REVISION_NOT_FOUND: Final = "response.revision_not_found"
# the field errors of a response, at the JSON path of the answer (0-based repeat indices)
RESPONSE_UNKNOWN_FIELD: Final = "response.unknown_field"  # a key the questionnaire lacks there
RESPONSE_INVALID_TYPE: Final = "response.invalid_type"  # wrong type, bad date, answered note
RESPONSE_INVALID_CHOICE: Final = "response.invalid_choice"  # not in the list, or filtered out
RESPONSE_INVALID_GEOPOINT: Final = "response.invalid_geopoint"  # coordinates out of range
RESPONSE_INVALID_GEOMETRY: Final = "response.invalid_geometry"  # too few points, shape not closed
RESPONSE_OUT_OF_RANGE: Final = "response.out_of_range"  # a range answer outside it or off its step
RESPONSE_INVALID_RANK: Final = "response.invalid_rank"  # not an ordering of the list's choices
RESPONSE_INVALID_FILE_NAME: Final = "response.invalid_file_name"  # a media answer, not a file name
# a media answer naming a file that did not arrive with the response (for a split OpenRosa
# submission: by its last part)
RESPONSE_MISSING_FILE: Final = "response.missing_file"
# the file a media answer names is empty, too large, or not of the question's kind
RESPONSE_INVALID_FILE: Final = "response.invalid_file"
# a file part of a JSON API submission that no media answer names (422, nothing stored)
RESPONSE_UNREFERENCED_FILE: Final = "response.unreferenced_file"
RESPONSE_NOT_RELEVANT: Final = "response.not_relevant"  # answered although skipped
RESPONSE_REQUIRED: Final = "response.required"  # a required, relevant answer is missing
RESPONSE_CONSTRAINT_FAILED: Final = "response.constraint_failed"  # the constraint is false
RESPONSE_REPEAT_COUNT_MISMATCH: Final = "response.repeat_count_mismatch"  # vs repeat_count
RESPONSE_CALCULATION_MISMATCH: Final = "response.calculation_mismatch"  # (a warning)
# (a warning) a calculation calling random(), once(), uuid() ... keeps the client's value
RESPONSE_CALCULATION_TRUSTED: Final = "response.calculation_trusted"

# -- OpenRosa submissions (ODK Collect, Enketo, KoboCollect) --------------------------------
OPENROSA_MALFORMED_XML: Final = "openrosa.malformed_xml"
OPENROSA_FORBIDDEN_XML: Final = "openrosa.forbidden_xml"  # DTDs, entities (defusedxml)
OPENROSA_TOO_LARGE: Final = "openrosa.too_large"
OPENROSA_TOO_DEEP: Final = "openrosa.too_deep"
OPENROSA_ENCRYPTED: Final = "openrosa.encrypted"  # encrypted submissions are not taken
OPENROSA_MISSING_FORM_ID: Final = "openrosa.missing_form_id"
OPENROSA_MISSING_INSTANCE_ID: Final = "openrosa.missing_instance_id"
OPENROSA_FORM_MISMATCH: Final = "openrosa.form_mismatch"  # data for another form or version
OPENROSA_DUPLICATE_ELEMENT: Final = "openrosa.duplicate_element"  # one answer given twice
# a file part whose name no element of the instance holds: refused, nothing stored (400)
OPENROSA_UNREFERENCED_ATTACHMENT: Final = "openrosa.unreferenced_attachment"
# an edit (meta/deprecatedID) of an instance not stored here, or not the sender's (404)
OPENROSA_UNKNOWN_DEPRECATED_ID: Final = "openrosa.unknown_deprecated_id"
# an edit of a revision that another edit has replaced since (409): nothing stored
OPENROSA_STALE_EDIT: Final = "openrosa.stale_edit"

# -- form media (files of a questionnaire for Collect and Enketo; survey_service/media.py) ---
MEDIA_NOT_FOUND: Final = "media.not_found"  # no file of that name on the draft or version
MEDIA_INVALID_NAME: Final = "media.invalid_name"  # not a plain, printable file name
MEDIA_UNSUPPORTED_TYPE: Final = "media.unsupported_type"  # an extension not accepted
MEDIA_EMPTY: Final = "media.empty"  # a file of no bytes
MEDIA_INVALID_CSV: Final = "media.invalid_csv"  # not UTF-8 CSV with a header row, listed by line
MEDIA_INVALID_XML: Final = "media.invalid_xml"  # XML that does not parse
MEDIA_FORBIDDEN_XML: Final = "media.forbidden_xml"  # a DTD or entities (defusedxml)
MEDIA_INVALID_GEOJSON: Final = "media.invalid_geojson"  # not a FeatureCollection with ids
MEDIA_CONTENT_MISMATCH: Final = "media.content_mismatch"  # magic bytes not of the extension

# -- weight sets ----------------------------------------------------------------------------
WEIGHTS_NOT_FOUND: Final = "weights.not_found"
WEIGHTS_INVALID_NAME: Final = "weights.invalid_name"
WEIGHTS_INVALID_CSV: Final = "weights.invalid_csv"  # the file has problems, listed by line
WEIGHTS_MISSING_COLUMN: Final = "weights.missing_column"
WEIGHTS_UNKNOWN_COLUMN: Final = "weights.unknown_column"
WEIGHTS_DUPLICATE_COLUMN: Final = "weights.duplicate_column"
WEIGHTS_INVALID_ROW: Final = "weights.invalid_row"  # a weight or code that cannot be read
WEIGHTS_DUPLICATE_INSTANCE: Final = "weights.duplicate_instance"
WEIGHTS_UNKNOWN_INSTANCE: Final = "weights.unknown_instance"  # no such response (or rejected)

# -- aggregates -----------------------------------------------------------------------------
AGGREGATE_INVALID: Final = "aggregate.invalid"  # the request has problems, listed
AGGREGATE_UNKNOWN_STAT: Final = "aggregate.unknown_stat"
AGGREGATE_UNKNOWN_UNIT: Final = "aggregate.unknown_unit"
AGGREGATE_UNKNOWN_QUESTION: Final = "aggregate.unknown_question"
AGGREGATE_UNKNOWN_DIMENSION: Final = "aggregate.unknown_dimension"
AGGREGATE_DUPLICATE_DIMENSION: Final = "aggregate.duplicate_dimension"
AGGREGATE_UNKNOWN_CHOICE: Final = "aggregate.unknown_choice"
AGGREGATE_UNKNOWN_FILTER: Final = "aggregate.unknown_filter"
AGGREGATE_UNKNOWN_WEIGHTS: Final = "aggregate.unknown_weights"
AGGREGATE_MISSING_VARIABLE: Final = "aggregate.missing_variable"  # a statistic needs one
AGGREGATE_NOT_NUMERIC: Final = "aggregate.not_numeric"
AGGREGATE_INVALID_EXPRESSION: Final = "aggregate.invalid_expression"
AGGREGATE_UNSUPPORTED_EXPRESSION: Final = "aggregate.unsupported_expression"  # not in SQL
AGGREGATE_UNSUPPORTED_FUNCTION: Final = "aggregate.unsupported_function"  # not in SQL
AGGREGATE_TYPE_MISMATCH: Final = "aggregate.type_mismatch"
# a variable or denominator over the expression limits, or refused by the database as too
# large or too deeply nested (expressions/sql.py, "Size")
AGGREGATE_EXPRESSION_TOO_LARGE: Final = "aggregate.expression_too_large"
AGGREGATE_NO_VERSION: Final = "aggregate.no_version"  # nothing published among those asked
AGGREGATE_NOT_ESTIMABLE: Final = "aggregate.not_estimable"  # e.g. one PSU with rule "fail"
AGGREGATE_FORMAT_UNAVAILABLE: Final = "aggregate.format_unavailable"
AGGREGATE_SUPPRESSION_REQUIRED: Final = "aggregate.suppression_required"  # cannot switch off
