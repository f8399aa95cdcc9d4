"""Validates JSON documents against a JSON Schema with the reference Python implementation
(`jsonschema`, the dialect the schema declares, formats checked: `jsonschema[format-nongpl]`).
stdin: {"schema": PATH, "documents": [...]}; stdout: for each document, the list of its errors
("message at /path"), as JSON."""

import json
import sys

import jsonschema

request = json.load(sys.stdin)
with open(request["schema"], encoding="utf-8") as f:
    schema = json.load(f)
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
print(
    json.dumps(
        [
            [f"{e.message} at /{'/'.join(map(str, e.absolute_path))}" for e in validator.iter_errors(doc)]
            for doc in request["documents"]
        ]
    )
)
