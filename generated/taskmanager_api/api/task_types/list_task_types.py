from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.auth_error_body import AuthErrorBody
from ...models.error_envelope import ErrorEnvelope
from ...models.list_task_types_envelope import ListTaskTypesEnvelope
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    active_only: bool | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["active_only"] = active_only

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/task-types",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AuthErrorBody | ErrorEnvelope | ListTaskTypesEnvelope | None:
    if response.status_code == 200:
        response_200 = ListTaskTypesEnvelope.from_dict(response.json())

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
) -> Response[AuthErrorBody | ErrorEnvelope | ListTaskTypesEnvelope]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    active_only: bool | Unset = UNSET,
) -> Response[AuthErrorBody | ErrorEnvelope | ListTaskTypesEnvelope]:
    """List task types

    Args:
        active_only (bool | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuthErrorBody | ErrorEnvelope | ListTaskTypesEnvelope]
    """

    kwargs = _get_kwargs(
        active_only=active_only,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    active_only: bool | Unset = UNSET,
) -> AuthErrorBody | ErrorEnvelope | ListTaskTypesEnvelope | None:
    """List task types

    Args:
        active_only (bool | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuthErrorBody | ErrorEnvelope | ListTaskTypesEnvelope
    """

    return sync_detailed(
        client=client,
        active_only=active_only,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    active_only: bool | Unset = UNSET,
) -> Response[AuthErrorBody | ErrorEnvelope | ListTaskTypesEnvelope]:
    """List task types

    Args:
        active_only (bool | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuthErrorBody | ErrorEnvelope | ListTaskTypesEnvelope]
    """

    kwargs = _get_kwargs(
        active_only=active_only,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    active_only: bool | Unset = UNSET,
) -> AuthErrorBody | ErrorEnvelope | ListTaskTypesEnvelope | None:
    """List task types

    Args:
        active_only (bool | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuthErrorBody | ErrorEnvelope | ListTaskTypesEnvelope
    """

    return (
        await asyncio_detailed(
            client=client,
            active_only=active_only,
        )
    ).parsed
