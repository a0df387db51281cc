"""Typed AMI action builders: the one place an action's headers are spelled.

Everything that talks to Asterisk over AMI (the queue service, the dialer, the engine's
reload, the benchmarks) builds its actions here and passes them to `AmiClient.send`, so a
header name is written once and a missing argument is a type error, not a silent
"Response: Error" from the PBX. The result is a plain mapping (`format_action` serialises it;
a list value repeats its header, as AMI's `Variable` needs).
"""

from __future__ import annotations

from collections.abc import Mapping

AmiAction = dict[str, str | list[str]]


def _flag(value: bool) -> str:
    return "true" if value else "false"


def login(*, username: str, secret: str, events: bool = True) -> AmiAction:
    return {"Action": "Login", "Username": username, "Secret": secret, "Events": "on" if events else "off"}


def logoff() -> AmiAction:
    return {"Action": "Logoff"}


def ping() -> AmiAction:
    return {"Action": "Ping"}


def events(mask: str) -> AmiAction:
    """Which event classes this session receives (e.g. "agent", "on", "off")."""
    return {"Action": "Events", "EventMask": mask}


def command(cli: str) -> AmiAction:
    """An Asterisk CLI command, e.g. "dialplan reload"."""
    return {"Action": "Command", "Command": cli}


def core_status() -> AmiAction:
    return {"Action": "CoreStatus"}


def queue_status(queue: str | None = None) -> AmiAction:
    return {"Action": "QueueStatus", **({"Queue": queue} if queue else {})}


def queue_add(*, queue: str, interface: str, member_name: str, penalty: int = 0,
              state_interface: str | None = None) -> AmiAction:
    return {"Action": "QueueAdd", "Queue": queue, "Interface": interface, "MemberName": member_name,
            "Penalty": str(penalty), "StateInterface": state_interface or interface}


def queue_remove(*, queue: str, interface: str) -> AmiAction:
    return {"Action": "QueueRemove", "Queue": queue, "Interface": interface}


def queue_penalty(*, queue: str, interface: str, penalty: int) -> AmiAction:
    return {"Action": "QueuePenalty", "Queue": queue, "Interface": interface, "Penalty": str(penalty)}


def queue_pause(*, interface: str, paused: bool, reason: str = "", queue: str | None = None) -> AmiAction:
    """Pause or unpause a member; without `queue`, in every queue it belongs to."""
    action: AmiAction = {"Action": "QueuePause", "Interface": interface, "Paused": _flag(paused)}
    if queue:
        action["Queue"] = queue
    if reason:
        action["Reason"] = reason
    return action


def setvar(*, channel: str, variable: str, value: str) -> AmiAction:
    return {"Action": "Setvar", "Channel": channel, "Variable": variable, "Value": value}


def hangup(*, channel: str) -> AmiAction:
    """`channel` may be a /regex/ (Asterisk 13+), e.g. "/^PJSIP/"."""
    return {"Action": "Hangup", "Channel": channel}


def originate(*, channel: str, context: str, exten: str = "s", priority: int = 1, caller_id: str = "",
              timeout_s: float = 30.0, variables: Mapping[str, str] | None = None,
              asynchronous: bool = True) -> AmiAction:
    """Ring `channel`; once answered it runs `context`,`exten`,`priority`.

    With `asynchronous` the reply ends on OriginateResponse, which says whether it was answered.
    """
    action: AmiAction = {"Action": "Originate", "Channel": channel, "Context": context, "Exten": exten,
                         "Priority": str(priority), "Timeout": str(int(timeout_s * 1000)),
                         "Async": _flag(asynchronous)}
    if caller_id:
        action["CallerID"] = caller_id
    if variables:
        action["Variable"] = [f"{k}={v}" for k, v in variables.items()]
    return action
