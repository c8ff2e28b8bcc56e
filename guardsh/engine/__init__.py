"""The engine: lexing, parsing, unwrapping, inline code, classification, context, rules and the values
that flow. Pure: it reads rule files, config and the scripts it classifies, and never opens a socket or
a terminal, starts a process or writes a file. It imports nothing from the other stages.
"""
