"""OpenAPI schema post-processing: document the error answers every operation can give."""

ERROR_SCHEMA = {
    "type": "object",
    "description": "`detail` for general errors; for invalid input, one key per field with its messages.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}
ERRORS = {
    "400": "Invalid input; each field is named with the reason.",
    "401": "Not authenticated.",
    "403": "Authenticated, but not allowed to do this.",
    "404": "Not found, or not visible to you.",
    "415": "Unsupported content type.",
    "429": "Too many requests; retry after the Retry-After header.",
    "503": "Temporarily unavailable (database or broker down).",
}


def add_error_responses(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for code, description in ERRORS.items():
                if code not in responses:
                    responses[code] = {"description": description, "content": reference}
    return result
