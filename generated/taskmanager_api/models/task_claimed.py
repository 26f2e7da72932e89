from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.json_object import JsonObject


T = TypeVar("T", bound="TaskClaimed")


@_attrs_define
class TaskClaimed:
    """
    Attributes:
        id (int | str): A record id. Some replies send it as a JSON string ("7"), others as a number (7).
        type_ (str):
        params (JsonObject | None): A free-form JSON object, or null when nothing is stored.
        attempts (int): Number of claims including this one.
        priority (int):
        message (str | Unset):
    """

    id: int | str
    type_: str
    params: JsonObject | None
    attempts: int
    priority: int
    message: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.json_object import JsonObject

        id: int | str
        id = self.id

        type_ = self.type_

        params: dict[str, Any] | None
        if isinstance(self.params, JsonObject):
            params = self.params.to_dict()
        else:
            params = self.params

        attempts = self.attempts

        priority = self.priority

        message = self.message

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "type": type_,
                "params": params,
                "attempts": attempts,
                "priority": priority,
            }
        )
        if message is not UNSET:
            field_dict["message"] = message

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.json_object import JsonObject

        d = dict(src_dict)

        def _parse_id(data: object) -> int | str:
            return cast(int | str, data)

        id = _parse_id(d.pop("id"))

        type_ = d.pop("type")

        def _parse_params(data: object) -> JsonObject | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                componentsschemas_nullable_json_object_type_0 = JsonObject.from_dict(data)

                return componentsschemas_nullable_json_object_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JsonObject | None, data)

        params = _parse_params(d.pop("params"))

        attempts = d.pop("attempts")

        priority = d.pop("priority")

        message = d.pop("message", UNSET)

        task_claimed = cls(
            id=id,
            type_=type_,
            params=params,
            attempts=attempts,
            priority=priority,
            message=message,
        )

        task_claimed.additional_properties = d
        return task_claimed

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
