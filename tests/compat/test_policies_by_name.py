"""Claim policies given by name, in any case, wherever a ClaimPolicy is taken."""

from __future__ import annotations

import pytest

from taskmanager import ClaimPolicy, TaskManagerClient, TaskManagerValidationError, Worker
from taskmanager._policies import to_policy


@pytest.mark.parametrize(
    ("name", "policy"),
    [
        ("FIFO", ClaimPolicy.FIFO),
        ("lifo", ClaimPolicy.LIFO),
        ("Priority", ClaimPolicy.PRIORITY),
        (" lifo ", ClaimPolicy.LIFO),
    ],
)
def test_names_in_any_case(name: str, policy: ClaimPolicy) -> None:
    """A policy's name, in any case, is that policy; so is the enum call."""
    assert to_policy(name) is policy
    assert ClaimPolicy(name) is policy
    assert to_policy(policy) is policy


@pytest.mark.parametrize("bad", ["RANDOM", "", "fi fo", 3, None, ("id", "ASC ")])
def test_unknown_policy_lists_the_valid_names(bad: object) -> None:
    """Anything else is a TaskManagerValidationError naming FIFO, LIFO and PRIORITY."""
    with pytest.raises(TaskManagerValidationError, match="FIFO, LIFO, PRIORITY"):
        to_policy(bad)


def test_client_claims_with_a_string_policy(client: TaskManagerClient) -> None:
    """claim_task(policy="LIFO") takes the newest task, "fifo" the oldest."""
    client.register_task_type("PrismQ.Test.Policy.Claim", "1.0.0", {"type": "object"})
    ids = [client.create_task("PrismQ.Test.Policy.Claim", {"n": n}).id for n in range(3)]
    newest = client.claim_task("PrismQ.Test.Policy.Claim", policy="LIFO")
    oldest = client.claim_task("PrismQ.Test.Policy.Claim", policy="fifo")
    assert newest is not None and oldest is not None
    assert (newest.id, oldest.id) == (ids[2], ids[0])
    with pytest.raises(TaskManagerValidationError, match="unknown claim policy 'NEWEST'"):
        client.claim_task("PrismQ.Test.Policy.Claim", policy="NEWEST")


def test_worker_takes_a_string_policy(client: TaskManagerClient) -> None:
    """Worker(policy="priority") is ClaimPolicy.PRIORITY; a bad name fails at construction."""
    assert Worker(client, policy="priority").policy is ClaimPolicy.PRIORITY
    with pytest.raises(TaskManagerValidationError, match="FIFO, LIFO, PRIORITY"):
        Worker(client, policy="oldest")
