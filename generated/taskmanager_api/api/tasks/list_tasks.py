from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.auth_error_body import AuthErrorBody
from ...models.error_envelope import ErrorEnvelope
from ...models.list_tasks_envelope import ListTasksEnvelope
from ...models.list_tasks_status import ListTasksStatus
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    status: ListTasksStatus | Unset = UNSET,
    type_: str | Unset = UNSET,
    limit: int | Unset = 50,
    offset: int | Unset = 0,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status.value

    params["status"] = json_status

    params["type"] = type_

    params["limit"] = limit

    params["offset"] = offset

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/tasks",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AuthErrorBody | ErrorEnvelope | ListTasksEnvelope | None:
    if response.status_code == 200:
        response_200 = ListTasksEnvelope.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorEnvelope.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = AuthErrorBody.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = ErrorEnvelope.from_dict(response.json())

        return response_404

    if response.status_code == 413:
        response_413 = AuthErrorBody.from_dict(response.json())

        return response_413

    if response.status_code == 429:
        response_429 = AuthErrorBody.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ErrorEnvelope.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[AuthErrorBody | ErrorEnvelope | ListTasksEnvelope]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    status: ListTasksStatus | Unset = UNSET,
    type_: str | Unset = UNSET,
    limit: int | Unset = 50,
    offset: int | Unset = 0,
) -> Response[AuthErrorBody | ErrorEnvelope | ListTasksEnvelope]:
    """List tasks

    Args:
        status (ListTasksStatus | Unset):
        type_ (str | Unset):
        limit (int | Unset):  Default: 50.
        offset (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuthErrorBody | ErrorEnvelope | ListTasksEnvelope]
    """

    kwargs = _get_kwargs(
        status=status,
        type_=type_,
        limit=limit,
        offset=offset,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    status: ListTasksStatus | Unset = UNSET,
    type_: str | Unset = UNSET,
    limit: int | Unset = 50,
    offset: int | Unset = 0,
) -> AuthErrorBody | ErrorEnvelope | ListTasksEnvelope | None:
    """List tasks

    Args:
        status (ListTasksStatus | Unset):
        type_ (str | Unset):
        limit (int | Unset):  Default: 50.
        offset (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuthErrorBody | ErrorEnvelope | ListTasksEnvelope
    """

    return sync_detailed(
        client=client,
        status=status,
        type_=type_,
        limit=limit,
        offset=offset,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    status: ListTasksStatus | Unset = UNSET,
    type_: str | Unset = UNSET,
    limit: int | Unset = 50,
    offset: int | Unset = 0,
) -> Response[AuthErrorBody | ErrorEnvelope | ListTasksEnvelope]:
    """List tasks

    Args:
        status (ListTasksStatus | Unset):
        type_ (str | Unset):
        limit (int | Unset):  Default: 50.
        offset (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuthErrorBody | ErrorEnvelope | ListTasksEnvelope]
    """

    kwargs = _get_kwargs(
        status=status,
        type_=type_,
        limit=limit,
        offset=offset,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    status: ListTasksStatus | Unset = UNSET,
    type_: str | Unset = UNSET,
    limit: int | Unset = 50,
    offset: int | Unset = 0,
) -> AuthErrorBody | ErrorEnvelope | ListTasksEnvelope | None:
    """List tasks

    Args:
        status (ListTasksStatus | Unset):
        type_ (str | Unset):
        limit (int | Unset):  Default: 50.
        offset (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuthErrorBody | ErrorEnvelope | ListTasksEnvelope
    """

    return (
        await asyncio_detailed(
            client=client,
            status=status,
            type_=type_,
            limit=limit,
            offset=offset,
        )
    ).parsed
