"""Approval: the socket protocol, the waiting side of a guarded command, the approver's server and console.
"""
