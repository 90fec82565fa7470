"""The API's one parser (DRF's DEFAULT_PARSER_CLASSES), apart from streamlite.api: DRF imports parsers while
its generic views load, and the schema classes there import those views."""

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

from streamlite.json_input import JsonRefused, json_loads_limited


class LimitedJSONParser(JSONParser):
    """JSON bodies of at most API_JSON_MAX_BYTES, nested at most JSON_MAX_DEPTH deep, valid Unicode: anything
    else is a 400 ``parse_error``, never a RecursionError or a database encoding error."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.API_JSON_MAX_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise exceptions.ParseError(_("The request body is too large."))
        try:
            return json_loads_limited(raw.decode((parser_context or {}).get("encoding") or "utf-8"))
        except UnicodeDecodeError as error:
            raise exceptions.ParseError(_("The request body is not valid UTF-8.")) from error
        except JsonRefused as refused:
            raise exceptions.ParseError(str(refused)) from refused
