"""URL converters. Ids are at most 18 digits: a longer number cannot be a row id and
would overflow SQLite's integer (a 500 instead of a 404)."""


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
