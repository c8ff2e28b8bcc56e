"""Undo (issue 14): save what a command will destroy before it runs, and put it back.

``guard`` applies the policy for the faces, ``snapshot`` and ``store`` save, ``gitstate`` saves and
restores git state, ``restore`` puts a snapshot back, ``cli`` is ``guardsh snapshots`` / ``guardsh undo``.
What a command destroys is worked out by the engine (``guardsh.engine.undoplan``), which stays pure.
"""
