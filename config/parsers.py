from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, refusing absurdly nested bodies with a 400 instead of a crash.

    Python's decoder raises RecursionError (not ValueError) on deep nesting such as
    200,000 opening brackets; DRF only turns ValueError into a 400.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
