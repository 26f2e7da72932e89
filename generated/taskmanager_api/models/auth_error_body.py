from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="AuthErrorBody")


@_attrs_define
class AuthErrorBody:
    """Body of a reply refused before routing: 401 (missing or wrong API key), 413 (request too large), 429 (rate limited).
    Sent with a text/html content type although it is JSON.

        Attributes:
            error (str): Short reason, e.g. "Unauthorized".
            message (str): Explanation for a person.
            timestamp (str | Unset): ISO-8601 time of the reply (a string here, unlike the other bodies).
    """

    error: str
    message: str
    timestamp: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        error = self.error

        message = self.message

        timestamp = self.timestamp

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "error": error,
                "message": message,
            }
        )
        if timestamp is not UNSET:
            field_dict["timestamp"] = timestamp

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        error = d.pop("error")

        message = d.pop("message")

        timestamp = d.pop("timestamp", UNSET)

        auth_error_body = cls(
            error=error,
            message=message,
            timestamp=timestamp,
        )

        auth_error_body.additional_properties = d
        return auth_error_body

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
