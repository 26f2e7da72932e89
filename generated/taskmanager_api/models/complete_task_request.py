from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.json_object import JsonObject


T = TypeVar("T", bound="CompleteTaskRequest")


@_attrs_define
class CompleteTaskRequest:
    """
    Attributes:
        worker_id (str): Worker holding the claim.
        success (bool): Whether the task succeeded.
        result (JsonObject | Unset): A free-form JSON object (task parameters, results, parameter schemas).
        error (str | Unset): Why the task failed.
    """

    worker_id: str
    success: bool
    result: JsonObject | Unset = UNSET
    error: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        worker_id = self.worker_id

        success = self.success

        result: dict[str, Any] | Unset = UNSET
        if not isinstance(self.result, Unset):
            result = self.result.to_dict()

        error = self.error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "worker_id": worker_id,
                "success": success,
            }
        )
        if result is not UNSET:
            field_dict["result"] = result
        if error is not UNSET:
            field_dict["error"] = error

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.json_object import JsonObject

        d = dict(src_dict)
        worker_id = d.pop("worker_id")

        success = d.pop("success")

        _result = d.pop("result", UNSET)
        result: JsonObject | Unset
        if isinstance(_result, Unset):
            result = UNSET
        else:
            result = JsonObject.from_dict(_result)

        error = d.pop("error", UNSET)

        complete_task_request = cls(
            worker_id=worker_id,
            success=success,
            result=result,
            error=error,
        )

        complete_task_request.additional_properties = d
        return complete_task_request

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
