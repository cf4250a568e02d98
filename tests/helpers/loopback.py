"""Loopback ports for the tests' own servers, and for a peer that is not there."""

import socket


def free_port() -> int:
    """A loopback port nothing listens on now: for a server a test starts, or as a peer that refuses connections."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
