"""The agent faces: hook adapters and their install, ``guardsh wrap`` and its tool shims.
"""
