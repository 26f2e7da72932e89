from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.json_object import JsonObject


T = TypeVar("T", bound="TaskTypeRecord")


@_attrs_define
class TaskTypeRecord:
    """
    Attributes:
        id (int | str): A record id. Some replies send it as a JSON string ("7"), others as a number (7).
        name (str):
        version (str):
        param_schema (JsonObject): A free-form JSON object (task parameters, results, parameter schemas).
        is_active (int): 1 when active, 0 when not.
        created_at (str): "YYYY-MM-DD HH:MM:SS" in the database zone, no offset.
        updated_at (str): "YYYY-MM-DD HH:MM:SS" in the database zone, no offset.
        usage_count (int | Unset): Number of tasks of this type; only in list replies (the query that selects it is what
            fails on the current server version).
    """

    id: int | str
    name: str
    version: str
    param_schema: JsonObject
    is_active: int
    created_at: str
    updated_at: str
    usage_count: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id: int | str
        id = self.id

        name = self.name

        version = self.version

        param_schema = self.param_schema.to_dict()

        is_active = self.is_active

        created_at = self.created_at

        updated_at = self.updated_at

        usage_count = self.usage_count

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "version": version,
                "param_schema": param_schema,
                "is_active": is_active,
                "created_at": created_at,
                "updated_at": updated_at,
            }
        )
        if usage_count is not UNSET:
            field_dict["usage_count"] = usage_count

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.json_object import JsonObject

        d = dict(src_dict)

        def _parse_id(data: object) -> int | str:
            return cast(int | str, data)

        id = _parse_id(d.pop("id"))

        name = d.pop("name")

        version = d.pop("version")

        param_schema = JsonObject.from_dict(d.pop("param_schema"))

        is_active = d.pop("is_active")

        created_at = d.pop("created_at")

        updated_at = d.pop("updated_at")

        usage_count = d.pop("usage_count", UNSET)

        task_type_record = cls(
            id=id,
            name=name,
            version=version,
            param_schema=param_schema,
            is_active=is_active,
            created_at=created_at,
            updated_at=updated_at,
            usage_count=usage_count,
        )

        task_type_record.additional_properties = d
        return task_type_record

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
