from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="TaskListEntry")


@_attrs_define
class TaskListEntry:
    """
    Attributes:
        id (int | str): A record id. Some replies send it as a JSON string ("7"), others as a number (7).
        type_ (str):
        status (str):
        priority (int):
        progress (int):
        attempts (int):
        claimed_by (None | str):
        created_at (str): "YYYY-MM-DD HH:MM:SS" in the database zone, no offset.
        completed_at (None | str): "YYYY-MM-DD HH:MM:SS" in the database zone, no offset.
    """

    id: int | str
    type_: str
    status: str
    priority: int
    progress: int
    attempts: int
    claimed_by: None | str
    created_at: str
    completed_at: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id: int | str
        id = self.id

        type_ = self.type_

        status = self.status

        priority = self.priority

        progress = self.progress

        attempts = self.attempts

        claimed_by: None | str
        claimed_by = self.claimed_by

        created_at = self.created_at

        completed_at: None | str
        completed_at = self.completed_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "type": type_,
                "status": status,
                "priority": priority,
                "progress": progress,
                "attempts": attempts,
                "claimed_by": claimed_by,
                "created_at": created_at,
                "completed_at": completed_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_id(data: object) -> int | str:
            return cast(int | str, data)

        id = _parse_id(d.pop("id"))

        type_ = d.pop("type")

        status = d.pop("status")

        priority = d.pop("priority")

        progress = d.pop("progress")

        attempts = d.pop("attempts")

        def _parse_claimed_by(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        claimed_by = _parse_claimed_by(d.pop("claimed_by"))

        created_at = d.pop("created_at")

        def _parse_completed_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        completed_at = _parse_completed_at(d.pop("completed_at"))

        task_list_entry = cls(
            id=id,
            type_=type_,
            status=status,
            priority=priority,
            progress=progress,
            attempts=attempts,
            claimed_by=claimed_by,
            created_at=created_at,
            completed_at=completed_at,
        )

        task_list_entry.additional_properties = d
        return task_list_entry

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
