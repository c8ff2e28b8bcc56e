"""guardsh: a replacement shell for AI agents that classifies every command before bash runs it."""

__version__ = "0.1.0"
