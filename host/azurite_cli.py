"""``python -m host azurite status|stop``: the Azurite the hosts started and share."""

from __future__ import annotations

import argparse

from host.storage.azurite_share import AzuriteState, all_states, azurite_home, stop_shared


def add_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``azurite`` with its ``status`` and ``stop`` actions."""
    p = subparsers.add_parser("azurite", help="show or stop the Azurite that hosts started")
    p.add_argument(
        "action",
        choices=["status", "stop"],
        help="status: what runs, where its data is, which hosts use it; stop: end it",
    )
    p.set_defaults(handler=_run)


def _describe(state: AzuriteState) -> str:
    users = ", ".join(str(pid) for pid in state.users) or "none"
    return (
        f"Azurite pid {state.pid}: blob {state.blob_port}, queue {state.queue_port}, "
        f"table {state.table_port} on {state.host}; data in {state.folder}; "
        f"hosts using it (pids): {users}"
    )


def _run(args: argparse.Namespace) -> int:
    home = azurite_home()
    states = all_states(home)
    if not states:
        print(f"No Azurite started by funchost is running (data under {home}).")
        return 0
    for state in states:
        if args.action == "status":
            print(_describe(state))
            continue
        stop_shared(state)
        still = f"; hosts that were using it: {', '.join(map(str, state.users))}" if state.users else ""
        print(
            f"Stopped Azurite pid {state.pid} (blob {state.blob_port}; data kept in {state.folder}){still}."
        )
    return 0
