"""Domain errors of the queue manager; each carries a stable id the web layer maps to a status."""

from __future__ import annotations

from infra.errors import DomainError


class QueueError(DomainError):
    """Base of every agent_queue error; `error_id` is stable across releases."""

    error_id = "queue-error"


class AmiProtocolError(QueueError):
    """The AMI byte stream broke the framing rules (oversized frame, garbage); the connection is dropped."""

    error_id = "ami-protocol"


class AmiEventInvalid(QueueError):
    """An AMI event lacks a header we rely on or holds a malformed value; names event and header."""

    error_id = "ami-event-invalid"


class AmiNotConnected(QueueError):
    """An action was sent (or was in flight) while no authenticated AMI session existed."""

    error_id = "ami-not-connected"


class AmiLoginFailed(QueueError):
    """Asterisk refused the manager credentials."""

    error_id = "ami-login-failed"


class AmiActionFailed(QueueError):
    """Asterisk answered an action with `Response: Error` (the message is Asterisk's own)."""

    error_id = "ami-action-failed"

    def __init__(self, action: str, message: str) -> None:
        super().__init__(f"AMI action {action}: {message}")
        self.action = action
        self.message = message


class AmiTimeout(QueueError):
    """No complete reply to an action arrived in time."""

    error_id = "ami-timeout"


class AmiOverloaded(QueueError):
    """Too many actions are already awaiting replies; shed instead of queueing without bound."""

    error_id = "ami-overloaded"


class NoSuchAgent(QueueError):
    error_id = "no-such-agent"


class NoSuchQueue(QueueError):
    error_id = "no-such-queue"


class IllegalAgentTransition(QueueError):
    """An agent state change that the state machine forbids (e.g. pause while logged out)."""

    error_id = "illegal-agent-transition"


class DialFailed(QueueError):
    """An Originate to a citizen was refused (not a dialable number) or not answered."""

    error_id = "dial-failed"


class ProfileInvalid(QueueError):
    """A day profile for the simulator or the staffing planner is malformed; names file and field."""

    error_id = "profile-invalid"
