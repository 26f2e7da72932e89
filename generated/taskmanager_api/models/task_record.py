from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.json_object import JsonObject


T = TypeVar("T", bound="TaskRecord")


@_attrs_define
class TaskRecord:
    """
    Attributes:
        id (int | str): A record id. Some replies send it as a JSON string ("7"), others as a number (7).
        type_ (str):
        status (str): pending, claimed, completed or failed.
        params (JsonObject | None): A free-form JSON object, or null when nothing is stored.
        result (JsonObject | None): A free-form JSON object, or null when nothing is stored.
        error_message (None | str):
        priority (int):
        progress (int):
        attempts (int):
        claimed_by (None | str):
        claimed_at (None | str): "YYYY-MM-DD HH:MM:SS" in the database zone, no offset.
        completed_at (None | str): "YYYY-MM-DD HH:MM:SS" in the database zone, no offset.
        created_at (str): "YYYY-MM-DD HH:MM:SS" in the database zone, no offset.
    """

    id: int | str
    type_: str
    status: str
    params: JsonObject | None
    result: JsonObject | None
    error_message: None | str
    priority: int
    progress: int
    attempts: int
    claimed_by: None | str
    claimed_at: None | str
    completed_at: None | str
    created_at: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.json_object import JsonObject

        id: int | str
        id = self.id

        type_ = self.type_

        status = self.status

        params: dict[str, Any] | None
        if isinstance(self.params, JsonObject):
            params = self.params.to_dict()
        else:
            params = self.params

        result: dict[str, Any] | None
        if isinstance(self.result, JsonObject):
            result = self.result.to_dict()
        else:
            result = self.result

        error_message: None | str
        error_message = self.error_message

        priority = self.priority

        progress = self.progress

        attempts = self.attempts

        claimed_by: None | str
        claimed_by = self.claimed_by

        claimed_at: None | str
        claimed_at = self.claimed_at

        completed_at: None | str
        completed_at = self.completed_at

        created_at = self.created_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "type": type_,
                "status": status,
                "params": params,
                "result": result,
                "error_message": error_message,
                "priority": priority,
                "progress": progress,
                "attempts": attempts,
                "claimed_by": claimed_by,
                "claimed_at": claimed_at,
                "completed_at": completed_at,
                "created_at": created_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.json_object import JsonObject

        d = dict(src_dict)

        def _parse_id(data: object) -> int | str:
            return cast(int | str, data)

        id = _parse_id(d.pop("id"))

        type_ = d.pop("type")

        status = d.pop("status")

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

        def _parse_result(data: object) -> JsonObject | None:
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

        result = _parse_result(d.pop("result"))

        def _parse_error_message(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        error_message = _parse_error_message(d.pop("error_message"))

        priority = d.pop("priority")

        progress = d.pop("progress")

        attempts = d.pop("attempts")

        def _parse_claimed_by(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        claimed_by = _parse_claimed_by(d.pop("claimed_by"))

        def _parse_claimed_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        claimed_at = _parse_claimed_at(d.pop("claimed_at"))

        def _parse_completed_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        completed_at = _parse_completed_at(d.pop("completed_at"))

        created_at = d.pop("created_at")

        task_record = cls(
            id=id,
            type_=type_,
            status=status,
            params=params,
            result=result,
            error_message=error_message,
            priority=priority,
            progress=progress,
            attempts=attempts,
            claimed_by=claimed_by,
            claimed_at=claimed_at,
            completed_at=completed_at,
            created_at=created_at,
        )

        task_record.additional_properties = d
        return task_record

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
