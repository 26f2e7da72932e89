from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.json_object import JsonObject


T = TypeVar("T", bound="RegisterTaskTypeRequest")


@_attrs_define
class RegisterTaskTypeRequest:
    """
    Attributes:
        name (str): Name of the task type (surrounding spaces are trimmed).
        version (str): Version of the parameter schema.
        param_schema (JsonObject): A free-form JSON object (task parameters, results, parameter schemas).
    """

    name: str
    version: str
    param_schema: JsonObject
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        version = self.version

        param_schema = self.param_schema.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "version": version,
                "param_schema": param_schema,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.json_object import JsonObject

        d = dict(src_dict)
        name = d.pop("name")

        version = d.pop("version")

        param_schema = JsonObject.from_dict(d.pop("param_schema"))

        register_task_type_request = cls(
            name=name,
            version=version,
            param_schema=param_schema,
        )

        register_task_type_request.additional_properties = d
        return register_task_type_request

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
