from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.task_type_registered import TaskTypeRegistered


T = TypeVar("T", bound="RegisterTaskTypeEnvelope")


@_attrs_define
class RegisterTaskTypeEnvelope:
    """
    Attributes:
        success (bool):
        message (str):
        timestamp (int): Unix time of the reply.
        data (TaskTypeRegistered): Result of a registration. A new type has a string id and created=true; re-registering
            an existing name has a numeric id and updated=true instead.
    """

    success: bool
    message: str
    timestamp: int
    data: TaskTypeRegistered
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        success = self.success

        message = self.message

        timestamp = self.timestamp

        data = self.data.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "success": success,
                "message": message,
                "timestamp": timestamp,
                "data": data,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.task_type_registered import TaskTypeRegistered

        d = dict(src_dict)
        success = d.pop("success")

        message = d.pop("message")

        timestamp = d.pop("timestamp")

        data = TaskTypeRegistered.from_dict(d.pop("data"))

        register_task_type_envelope = cls(
            success=success,
            message=message,
            timestamp=timestamp,
            data=data,
        )

        register_task_type_envelope.additional_properties = d
        return register_task_type_envelope

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
