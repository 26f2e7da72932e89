from enum import StrEnum


class ClaimSortBy(StrEnum):
    ATTEMPTS = "attempts"
    CREATED_AT = "created_at"
    ID = "id"
    PRIORITY = "priority"

    def __str__(self) -> str:
        return str(self.value)
