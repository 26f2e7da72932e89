from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.claim_sort_by import ClaimSortBy
from ..models.claim_sort_order import ClaimSortOrder
from ..types import UNSET, Unset

T = TypeVar("T", bound="ClaimTaskRequest")


@_attrs_define
class ClaimTaskRequest:
    """
    Attributes:
        worker_id (str): Identifier of the claiming worker.
        task_type_id (int): Id of the task type to claim from.
        type_pattern (str | Unset): SQL LIKE pattern the task type name must match.
        sort_by (ClaimSortBy | Unset):
        sort_order (ClaimSortOrder | Unset):
    """

    worker_id: str
    task_type_id: int
    type_pattern: str | Unset = UNSET
    sort_by: ClaimSortBy | Unset = UNSET
    sort_order: ClaimSortOrder | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        worker_id = self.worker_id

        task_type_id = self.task_type_id

        type_pattern = self.type_pattern

        sort_by: str | Unset = UNSET
        if not isinstance(self.sort_by, Unset):
            sort_by = self.sort_by.value

        sort_order: str | Unset = UNSET
        if not isinstance(self.sort_order, Unset):
            sort_order = self.sort_order.value

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "worker_id": worker_id,
                "task_type_id": task_type_id,
            }
        )
        if type_pattern is not UNSET:
            field_dict["type_pattern"] = type_pattern
        if sort_by is not UNSET:
            field_dict["sort_by"] = sort_by
        if sort_order is not UNSET:
            field_dict["sort_order"] = sort_order

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        worker_id = d.pop("worker_id")

        task_type_id = d.pop("task_type_id")

        type_pattern = d.pop("type_pattern", UNSET)

        _sort_by = d.pop("sort_by", UNSET)
        sort_by: ClaimSortBy | Unset
        if isinstance(_sort_by, Unset):
            sort_by = UNSET
        else:
            sort_by = ClaimSortBy(_sort_by)

        _sort_order = d.pop("sort_order", UNSET)
        sort_order: ClaimSortOrder | Unset
        if isinstance(_sort_order, Unset):
            sort_order = UNSET
        else:
            sort_order = ClaimSortOrder(_sort_order)

        claim_task_request = cls(
            worker_id=worker_id,
            task_type_id=task_type_id,
            type_pattern=type_pattern,
            sort_by=sort_by,
            sort_order=sort_order,
        )

        claim_task_request.additional_properties = d
        return claim_task_request

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
