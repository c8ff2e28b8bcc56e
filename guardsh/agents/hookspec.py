"""What guardsh knows of each agent's hook protocol: names, events, shell tools, what \'ask\' can become."""
from __future__ import annotations

AGENTS = ("claude-code", "codex", "gemini", "cursor")
ASK_MODES = ("auto", "approver", "agent", "deny")
# the event each agent calls before a tool runs, and the matcher that selects its shell tool
EVENTS = {"claude-code": "PreToolUse", "codex": "PreToolUse", "gemini": "BeforeTool", "cursor": "beforeShellExecution"}
MATCHER = {"claude-code": "Bash", "codex": "Bash", "gemini": "run_shell_command"}
# the tools whose input is a shell command, per agent
SHELL_TOOLS = {
    "claude-code": ("Bash",),
    "codex": ("Bash", "shell", "local_shell", "exec_command", "container.exec"),
    "gemini": ("run_shell_command",),
}
# the name the audit trail uses for each agent (as trail.detect_agent names them)
AUDIT_AGENT = {"claude-code": "claude-code", "codex": "codex", "gemini": "gemini-cli", "cursor": "cursor"}
# agents whose protocol can hand the decision to the agent's own prompt
HAS_PROMPT = ("claude-code", "cursor")
