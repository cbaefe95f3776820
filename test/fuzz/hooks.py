"""Schemathesis hooks for the gateway's OpenAPI document (loaded through SCHEMATHESIS_HOOKS)."""

import json

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    # POST /v1/admin/import takes the JSON lines that /v1/admin/export writes, declared as a string body;
    # negative cases may generate other JSON values, which are sent as their JSON text.
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    return (value if isinstance(value, str) else json.dumps(value)).encode("utf-8")


@schemathesis.deserializer("application/x-ndjson")
def json_lines(ctx, response):
    # GET /v1/admin/export: documented as a string of JSON lines; every line must parse as JSON.
    text = response.content.decode("utf-8")
    # Lines end at \n only: U+2028 and the like may stand inside a JSON string.
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            try:
                json.loads(line)
            except ValueError as error:
                raise ValueError(f"line {number} of the JSON lines body is not JSON: {error}") from None
    return text
