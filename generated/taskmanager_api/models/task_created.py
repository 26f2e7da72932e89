from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="TaskCreated")


@_attrs_define
class TaskCreated:
    """A new task (string id, type, status "pending", dedupe_key), or the task that already had these parameters (numeric
    id, its current status, deduplicated=true, no type and no dedupe_key).

        Attributes:
            id (int | str): A record id. Some replies send it as a JSON string ("7"), others as a number (7).
            status (str): pending, claimed, completed or failed.
            message (str):
            type_ (str | Unset):
            dedupe_key (str | Unset): Hex sha256 the server deduplicates on.
            deduplicated (bool | Unset): True when an existing task was returned instead of a new one.
    """

    id: int | str
    status: str
    message: str
    type_: str | Unset = UNSET
    dedupe_key: str | Unset = UNSET
    deduplicated: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id: int | str
        id = self.id

        status = self.status

        message = self.message

        type_ = self.type_

        dedupe_key = self.dedupe_key

        deduplicated = self.deduplicated

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
                "message": message,
            }
        )
        if type_ is not UNSET:
            field_dict["type"] = type_
        if dedupe_key is not UNSET:
            field_dict["dedupe_key"] = dedupe_key
        if deduplicated is not UNSET:
            field_dict["deduplicated"] = deduplicated

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_id(data: object) -> int | str:
            return cast(int | str, data)

        id = _parse_id(d.pop("id"))

        status = d.pop("status")

        message = d.pop("message")

        type_ = d.pop("type", UNSET)

        dedupe_key = d.pop("dedupe_key", UNSET)

        deduplicated = d.pop("deduplicated", UNSET)

        task_created = cls(
            id=id,
            status=status,
            message=message,
            type_=type_,
            dedupe_key=dedupe_key,
            deduplicated=deduplicated,
        )

        task_created.additional_properties = d
        return task_created

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
