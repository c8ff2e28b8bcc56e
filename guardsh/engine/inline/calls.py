"""What each language's calls do: name -> (qualifiers it needs, or None for any/bare, action)."""
from __future__ import annotations

PY_CALLS = {
    "rmtree": (None, "rm-r"), "remove": ({"os", ""}, "rm"), "unlink": ({"os", "", "<recv>"}, "rm"),
    "rmdir": ({"os", "", "<recv>"}, "rmdir"), "removedirs": ({"os", ""}, "rmdir"),
    "system": ({"os", ""}, "shell"), "popen": ({"os", ""}, "shell"),
    "run": ({"subprocess", "sp", ""}, "shell"), "call": ({"subprocess", "sp"}, "shell"),
    "check_call": ({"subprocess", "sp", ""}, "shell"), "check_output": ({"subprocess", "sp", ""}, "shell"),
    "Popen": ({"subprocess", "sp", ""}, "shell"), "getoutput": ({"subprocess", "sp", ""}, "shell"),
    "getstatusoutput": ({"subprocess", "sp", ""}, "shell"),
    "execv": ({"os"}, "argv-list"), "execvp": ({"os"}, "argv-list"), "execve": ({"os"}, "argv-list"),
    "execvpe": ({"os"}, "argv-list"), "exec": ({""}, "eval"), "eval": ({""}, "eval"), "compile": ({""}, "eval"),
}
JS_CALLS = {
    "rmSync": (None, "rm-opt"), "rm": ({"fs", "promises", "fsp", "fse", "fs/promises"}, "rm-opt"),
    "rmdirSync": (None, "rmdir-opt"), "rmdir": ({"fs", "promises", "fsp", "fse", "fs/promises"}, "rmdir-opt"),
    "unlinkSync": (None, "rm"), "unlink": ({"fs", "promises", "fsp", "fse", "fs/promises"}, "rm"),
    "removeSync": ({"fse", "fs", "fs-extra"}, "rm-r"), "remove": ({"fse", "fs-extra"}, "rm-r"),
    "emptyDirSync": ({"fse", "fs", "fs-extra"}, "rm-r"), "rimraf": (None, "rm-r"), "rimrafSync": (None, "rm-r"),
    "sync": ({"rimraf", "del", "deleteSync"}, "rm-r"), "deleteSync": (None, "rm-r"),
    "execSync": (None, "shell"), "exec": ({"child_process", "cp", "childProcess"}, "shell"),
    "execFileSync": (None, "argv-list"), "execFile": ({"child_process", "cp", "childProcess"}, "argv-list"),
    "spawnSync": (None, "argv-list"), "spawn": ({"child_process", "cp", "childProcess", ""}, "argv-list"),
    "eval": ({""}, "eval"), "Function": ({""}, "eval"), "runInNewContext": (None, "eval"),
    "runInThisContext": (None, "eval"),
}
RB_CALLS = {
    "rm_rf": (None, "rm-r"), "rm_r": (None, "rm-r"), "rmtree": (None, "rm-r"), "remove_dir": (None, "rm-r"),
    "remove_entry": (None, "rm-r"), "remove_entry_secure": (None, "rm-r"), "rm_f": ({"FileUtils", "FU"}, "rm"),
    "rm": ({"FileUtils", "FU"}, "rm"), "remove": ({"FileUtils", "FU"}, "rm"), "safe_unlink": (None, "rm"),
    "rmdir": ({"FileUtils", "FU", "Dir"}, "rmdir"), "delete": ({"File", "Dir"}, "rm"),
    "unlink": ({"File", "Dir", "<recv>"}, "rm"),
    "system": ({"", "Kernel"}, "argv"), "exec": ({"", "Kernel", "Process"}, "argv"), "spawn": ({"", "Process"}, "argv"),
    "popen": ({"IO"}, "argv"), "capture2": ({"Open3"}, "argv"), "capture2e": ({"Open3"}, "argv"),
    "capture3": ({"Open3"}, "argv"), "popen3": ({"Open3"}, "argv"), "popen2": ({"Open3"}, "argv"),
    "eval": ({"", "Kernel", "binding"}, "eval"), "instance_eval": (None, "eval"), "class_eval": (None, "eval"),
}
PL_CALLS = {
    "unlink": ({""}, "rm"), "rmdir": ({""}, "rmdir"), "rmtree": (None, "rm-r"), "remove_tree": (None, "rm-r"),
    "system": ({""}, "argv"), "exec": ({""}, "argv"), "eval": ({""}, "eval"),
}
PHP_CALLS = {
    "unlink": ({""}, "rm"), "rmdir": ({""}, "rmdir"), "system": ({""}, "shell"), "exec": ({""}, "shell"),
    "shell_exec": ({""}, "shell"), "passthru": ({""}, "shell"), "popen": ({""}, "shell"),
    "proc_open": ({""}, "shell"), "eval": ({""}, "eval"), "assert": ({""}, "eval-str"),
    "create_function": ({""}, "eval"),
}
CALLS = {"python": PY_CALLS, "js": JS_CALLS, "ruby": RB_CALLS, "perl": PL_CALLS, "php": PHP_CALLS}
