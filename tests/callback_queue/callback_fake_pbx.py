"""A fake PBX for the dialer: answers AMI actions and plays recorded attempts back.

``Originate`` replays one of the transcripts in ``transcripts/`` (recorded from the real
Asterisk), with the channel id, order id and ActionID of the action it answers, so the
dialer sees what it would see from Asterisk, event for event.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telephony.ami import AmiMessage, AmiParser

TRANSCRIPTS = Path(__file__).resolve().parent / "transcripts"


def _load(name: str) -> list[AmiMessage]:
    return AmiParser().feed((TRANSCRIPTS / f"{name}.ami").read_bytes())


class FakePbx:
    def __init__(self, device_states: dict[str, str] | None = None) -> None:
        self.connected = asyncio.Event()
        self.connected.set()
        self.device_states = device_states or {}
        self.scripts: dict[str, str] = {}  # operator -> transcript name; default "connected"
        self.originates: list[dict[str, Any]] = []
        self.hold_events = False  # originate, then send nothing (a lost AMI session)
        self._subscribers: list[tuple[Callable[[AmiMessage], Any], frozenset[str] | None]] = []
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()

    def subscribe(self, handler: Callable[[AmiMessage], Any], names: Any = None) -> Callable[[], None]:
        entry = (handler, None if names is None else frozenset(n.lower() for n in names))
        self._subscribers.append(entry)
        return lambda: self._subscribers.remove(entry)

    async def action(self, name: str, *, timeout: float = 10.0, **fields: Any) -> AmiMessage:
        action_id = f"fake-{next(self._ids)}"
        if name == "Getvar":
            endpoint = str(fields["Variable"]).split("PJSIP/")[1].rstrip(")")
            value = self.device_states.get(endpoint, "NOT_INUSE")
            return AmiMessage("response", "Success", (("Response", "Success"), ("ActionID", action_id),
                                                      ("Value", value)))
        if name == "Originate":
            self.originates.append(dict(fields))
            operator = str(fields["Channel"]).split("/", 1)[1]
            if not self.hold_events:
                task = asyncio.create_task(self._play(self.scripts.get(operator, "connected"), fields, action_id))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            return AmiMessage("response", "Success", (("Response", "Success"), ("ActionID", action_id),
                                                      ("Message", "Originate successfully queued")))
        return AmiMessage("response", "Success", (("Response", "Success"), ("ActionID", action_id)))

    async def action_list(self, name: str, *, timeout: float = 10.0, **fields: Any) -> list[AmiMessage]:
        return []  # no channels, no queue members

    async def _play(self, script: str, fields: dict[str, Any], action_id: str) -> None:
        messages = _load(script)
        recorded = next(m.get("Uniqueid") for m in messages if m.name == "Newchannel")
        order = next(v.split("=", 1)[1] for v in fields["Variable"] if v.startswith("CALLBACK_ORDER_ID="))
        channel_id = str(fields["ChannelId"])
        for message in messages:
            headers = []
            for key, value in message.headers:
                if value == recorded:
                    value = channel_id
                elif key == "Order":
                    value = order
                elif key == "ActionID" and message.name == "OriginateResponse":
                    value = action_id
                headers.append((key, value))
            await asyncio.sleep(0)  # events arrive one by one, as from a socket
            self._emit(AmiMessage(message.kind, message.name, tuple(headers)))

    def _emit(self, message: AmiMessage) -> None:
        for handler, names in list(self._subscribers):
            if names is None or message.name.lower() in names:
                handler(message)
