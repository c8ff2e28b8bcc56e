"""The shell face: bash's argv, the drop-in shell, the interactive session, and the exec of the real bash.
"""
