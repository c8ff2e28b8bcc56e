"""The errors of the undo stage: the faces turn them into a message (and ``ask``)."""
from __future__ import annotations


class SnapshotError(Exception):
    """A snapshot could not be taken or read; the message says why."""


class TooLarge(SnapshotError):
    """What the command destroys is over the per-snapshot cap."""
