from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.auth_error_body import AuthErrorBody
from ...models.error_envelope import ErrorEnvelope
from ...models.register_task_type_envelope import RegisterTaskTypeEnvelope
from ...models.register_task_type_request import RegisterTaskTypeRequest
from ...types import Response


def _get_kwargs(
    *,
    body: RegisterTaskTypeRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/task-types/register",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> AuthErrorBody | ErrorEnvelope | RegisterTaskTypeEnvelope | None:
    if response.status_code == 200:
        response_200 = RegisterTaskTypeEnvelope.from_dict(response.json())

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
) -> Response[AuthErrorBody | ErrorEnvelope | RegisterTaskTypeEnvelope]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: RegisterTaskTypeRequest,
) -> Response[AuthErrorBody | ErrorEnvelope | RegisterTaskTypeEnvelope]:
    """Register a task type or replace its schema

     Creates the named task type, or gives an existing one a new version and parameter schema.

    Args:
        body (RegisterTaskTypeRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuthErrorBody | ErrorEnvelope | RegisterTaskTypeEnvelope]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: RegisterTaskTypeRequest,
) -> AuthErrorBody | ErrorEnvelope | RegisterTaskTypeEnvelope | None:
    """Register a task type or replace its schema

     Creates the named task type, or gives an existing one a new version and parameter schema.

    Args:
        body (RegisterTaskTypeRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuthErrorBody | ErrorEnvelope | RegisterTaskTypeEnvelope
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: RegisterTaskTypeRequest,
) -> Response[AuthErrorBody | ErrorEnvelope | RegisterTaskTypeEnvelope]:
    """Register a task type or replace its schema

     Creates the named task type, or gives an existing one a new version and parameter schema.

    Args:
        body (RegisterTaskTypeRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuthErrorBody | ErrorEnvelope | RegisterTaskTypeEnvelope]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: RegisterTaskTypeRequest,
) -> AuthErrorBody | ErrorEnvelope | RegisterTaskTypeEnvelope | None:
    """Register a task type or replace its schema

     Creates the named task type, or gives an existing one a new version and parameter schema.

    Args:
        body (RegisterTaskTypeRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuthErrorBody | ErrorEnvelope | RegisterTaskTypeEnvelope
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
