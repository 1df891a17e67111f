from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination


class StrictLimitOffsetPagination(LimitOffsetPagination):
    """limit/offset paging that refuses malformed values instead of silently ignoring them."""

    default_limit = 50
    max_limit = 500

    def get_limit(self, request):
        self._check(request, self.limit_query_param, minimum=1)
        return super().get_limit(request)

    def get_offset(self, request):
        self._check(request, self.offset_query_param, minimum=0)
        return super().get_offset(request)

    @staticmethod
    def _check(request, name, minimum):
        values = request.query_params.getlist(name)
        if not values:
            return
        if len(values) > 1:
            raise ValidationError({name: ["Give this parameter once."]})
        value = values[0]
        if not (value.isascii() and value.isdecimal()) or int(value) < minimum:
            raise ValidationError({name: [f"Must be a whole number, at least {minimum}."]})
