"""Code embedded in commands: SQL given to database CLIs, Redis and MongoDB commands, and the
inline code of interpreters (``python -c``, ``perl -e``, ``node -e``...).

The code is read just far enough to turn what it will do into pseudo-commands that the rules
classify like any other command:

* each SQL statement becomes ``sql <words...>`` (keywords lower-cased, string literals as
  ``?``, parenthesised groups as ``(...)``): ``psql -c 'DROP TABLE users'`` -> ``sql drop table users``;
* each Redis command becomes ``redis <command> <args...>``, each MongoDB shell call that deletes
  becomes ``mongo <operation> <collection> <filter>``;
* a destructive call in interpreter code becomes the shell command it amounts to:
  ``shutil.rmtree("data")`` -> ``rm -r data``, ``os.system("...")`` -> the shell text itself,
  so the filesystem rules and path classes apply.

Code that cannot be read (a program built at run time, ``eval`` of a variable, SQL or code read
from a pipe) is reported as a problem, which makes the verdict ask.  This module is imported
only when one of these programs appears in a command.
"""
from __future__ import annotations

from guardsh.engine.inline import code, mongo, redis, sql
from guardsh.engine.inline.common import safe
from guardsh.engine.inline.sql import sql_statements

sql_cli = safe(sql.sql_cli)
redis_cli = safe(redis.redis_cli)
mongo_cli = safe(mongo.mongo_cli)
interpreter = safe(code.interpreter)

__all__ = ["interpreter", "mongo_cli", "redis_cli", "sql_cli", "sql_statements"]
