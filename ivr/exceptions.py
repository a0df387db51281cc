"""AGI outcomes as exceptions: a hangup is an expected event, not a traceback."""

from infra.errors import DomainError


class AgiError(DomainError):
    """Base of everything that can go wrong on an AGI session."""

    error_id = "agi-error"


class AgiHangup(AgiError):
    """The caller hung up (HANGUP line, result -1 or the socket closed)."""

    error_id = "agi-hangup"


class AgiDeadChannel(AgiError):
    """511: the channel is gone; only a few commands are allowed."""

    error_id = "agi-dead-channel"


class AgiInvalidCommand(AgiError):
    """510: Asterisk does not know the command."""

    error_id = "agi-invalid-command"


class AgiUsageError(AgiError):
    """520: the command's syntax was wrong."""

    error_id = "agi-usage"


class AgiProtocolError(AgiError):
    """Malformed input from the peer: bad header, bad status line, line too long, silence."""

    error_id = "agi-protocol"


class AgiCommandFailed(AgiError):
    """The command ran but reported failure (e.g. a prompt file that cannot be played)."""

    error_id = "agi-command-failed"
