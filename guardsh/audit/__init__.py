"""The audit stage: the hash-chained trail and its verification, ``guardsh log``, the offline dry-run
(``guardsh audit``) and its input readers.
"""
