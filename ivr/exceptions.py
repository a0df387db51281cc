"""AGI outcomes as exceptions: a hangup is an expected event, not a traceback."""


class AgiError(Exception):
    """Base of everything that can go wrong on an AGI session."""


class AgiHangup(AgiError):
    """The caller hung up (HANGUP line, result -1 or the socket closed)."""


class AgiDeadChannel(AgiError):
    """511: the channel is gone; only a few commands are allowed."""


class AgiInvalidCommand(AgiError):
    """510: Asterisk does not know the command."""


class AgiUsageError(AgiError):
    """520: the command's syntax was wrong."""


class AgiProtocolError(AgiError):
    """Malformed input from the peer: bad header, bad status line, line too long, silence."""


class AgiCommandFailed(AgiError):
    """The command ran but reported failure (e.g. a prompt file that cannot be played)."""
