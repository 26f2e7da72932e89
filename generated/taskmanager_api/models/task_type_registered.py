from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="TaskTypeRegistered")


@_attrs_define
class TaskTypeRegistered:
    """Result of a registration. A new type has a string id and created=true; re-registering an existing name has a numeric
    id and updated=true instead.

        Attributes:
            id (int | str): A record id. Some replies send it as a JSON string ("7"), others as a number (7).
            name (str):
            version (str):
            created (bool | Unset):
            updated (bool | Unset):
    """

    id: int | str
    name: str
    version: str
    created: bool | Unset = UNSET
    updated: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id: int | str
        id = self.id

        name = self.name

        version = self.version

        created = self.created

        updated = self.updated

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "version": version,
            }
        )
        if created is not UNSET:
            field_dict["created"] = created
        if updated is not UNSET:
            field_dict["updated"] = updated

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_id(data: object) -> int | str:
            return cast(int | str, data)

        id = _parse_id(d.pop("id"))

        name = d.pop("name")

        version = d.pop("version")

        created = d.pop("created", UNSET)

        updated = d.pop("updated", UNSET)

        task_type_registered = cls(
            id=id,
            name=name,
            version=version,
            created=created,
            updated=updated,
        )

        task_type_registered.additional_properties = d
        return task_type_registered

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
