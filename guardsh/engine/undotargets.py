"""Which words of which command name what it destroys (issue 14): the data ``undoplan`` reads."""
from __future__ import annotations

# program -> how its words name what it destroys.
#   when:     the command destroys only when one of these flags is present (else: always)
#   values:   options that take the next word (or the rest of a short cluster) as their value
#   args:     which positionals are targets: all | dest (the last; or each source's name in the
#             destination directory) | sources+dest | after-script (the first positional is a
#             script unless a script option was given) | start (find's starting points)
#   target_dir: the option naming the destination directory (cp -t DIR)
#   long_single: options are single-dash words (find -delete)
#   unknown_with: with these options the targets are not the words as written (find -L, tar -C)
#   bundled:  a first word without a dash is a cluster of options (tar czf)
#   unlinks:  the command only unlinks its targets, never writes through them (a hard link to
#             the saved copy is then safe)
FILE_TARGETS: dict[str, dict[str, object]] = {
    "rm": {"args": "all", "unlinks": True},
    "unlink": {"args": "all", "unlinks": True},
    "shred": {"args": "all", "values": ("-n", "--iterations", "-s", "--size", "--random-source")},
    "truncate": {"args": "all", "values": ("-s", "--size", "-r", "--reference")},
    "find": {"when": ("-delete",), "args": "start", "unlinks": True, "long_single": True,
             "unknown_with": ("-L", "-follow")},
    "tar": {"when": ("--remove-files",), "args": "all", "unlinks": True, "bundled": True,
            "unknown_with": ("-C", "--directory", "-T", "--files-from"),
            "values": ("-f", "--file", "-C", "--directory", "-T", "--files-from", "-X", "--exclude-from",
                       "-b", "--blocking-factor", "-H", "--format", "-I", "--use-compress-program")},
    "mv": {"args": "sources+dest", "target_dir": ("-t", "--target-directory"),
           "values": ("-S", "--suffix", "-t", "--target-directory")},
    "cp": {"args": "dest", "target_dir": ("-t", "--target-directory"),
           "values": ("-S", "--suffix", "-t", "--target-directory")},
    "ln": {"args": "dest", "when": ("-f", "--force"), "target_dir": ("-t", "--target-directory"),
           "values": ("-S", "--suffix", "-t", "--target-directory")},
    "install": {"args": "dest", "target_dir": ("-t", "--target-directory"),
                "values": ("-m", "--mode", "-o", "--owner", "-g", "--group", "-S", "--suffix", "-t",
                           "--target-directory")},
    "sed": {"when": ("-i", "--in-place"), "args": "after-script",
            "values": ("-e", "--expression", "-f", "--file", "-l", "--line-length"),
            "script": ("-e", "--expression", "-f", "--file")},
    "perl": {"when": ("-i",), "args": "after-script", "values": ("-e", "-E", "-M", "-I", "-m"),
             "script": ("-e", "-E")},
}
# Redirections that truncate their target (>> appends, <> opens without truncating).
TRUNCATING = (">", ">|", "&>")

# git subcommand -> what it loses.  refs: which refs move or go (HEAD: the branch HEAD is on;
# args: the refs the positionals name; all: every branch and tag); worktree: tracked changes
# and the index; clean: the untracked (and with -x ignored) files it removes; stash: the stash
# list; push: the remote's old tips (from the remote-tracking refs).
#   when: only with one of these flags (a list of alternatives); subs: only these sub-subcommands
GIT_TARGETS: dict[str, dict[str, object]] = {
    "reset": {"when": ("--hard", "--merge", "--keep"), "refs": "HEAD", "worktree": True},
    "checkout": {"refs": "HEAD", "worktree": True},
    "switch": {"when": ("-f", "--force", "--discard-changes", "-C", "--force-create"), "refs": "HEAD",
               "worktree": True},
    "restore": {"worktree": True},
    "clean": {"when": ("-f", "--force"), "clean": True},
    "stash": {"subs": ("drop", "clear", "pop"), "stash": True},
    "branch": {"when": ("-D", "-d", "--delete", "-f", "--force", "-M", "-m", "--move", "-C", "-c"), "refs": "args"},
    "tag": {"when": ("-d", "--delete", "-f", "--force"), "refs": "tags"},
    "rebase": {"refs": "rebase", "worktree": True},
    "commit": {"when": ("--amend",), "refs": "HEAD", "worktree": True},
    "filter-branch": {"refs": "all"},
    "filter-repo": {"refs": "all"},
    "update-ref": {"refs": "update-ref"},
    "worktree": {"subs": ("remove",), "when": ("-f", "--force"), "worktree_dir": True},
    "push": {"when": ("-f", "--force", "--force-with-lease", "--force-if-includes", "-d", "--delete", "--mirror",
                      "--prune"), "push": True},
}
GIT_VALUES = ("-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path", "--super-prefix")
GIT_SUB_VALUES: dict[str, tuple[str, ...]] = {
    "checkout": ("-b", "-B", "--orphan", "--conflict", "--pathspec-from-file"),
    "switch": ("-c", "-C", "--create", "--force-create", "--orphan", "--conflict"),
    "restore": ("-s", "--source", "--conflict", "--pathspec-from-file"),
    "clean": ("-e", "--exclude"),
    "commit": ("-m", "--message", "-F", "--file", "-C", "--reuse-message", "-c", "--reedit-message",
               "--author", "--date", "--fixup", "--squash", "-t", "--template", "--cleanup"),
    "rebase": ("--onto", "-s", "--strategy", "-X", "--strategy-option", "-x", "--exec", "--empty"),
    "push": ("--receive-pack", "--exec", "--repo", "-o", "--push-option", "--signed"),
    "update-ref": ("-m",),
    "branch": ("-u", "--set-upstream-to", "--contains", "--no-contains", "--merged", "--no-merged", "--sort",
               "--format", "--points-at"),
}
# Wrappers that run the command here, on this file system, with the words as they are
LOCAL_VIA = ("sudo", "doas", "env", "command", "nice", "nohup", "timeout", "time", "stdbuf", "ionice", "exec",
             "builtin", "bash -c", "sh -c", "eval", "$( )", "trap", "function", "alias", "source", ".")
# Wrappers that run it on another machine or in a container: not this file system
REMOTE_VIA = ("ssh", "kubectl", "oc ", "docker", "podman", "nerdctl", "gcloud", "aws", "az ", "vagrant", "lxc",
              "incus", "multipass", "limactl", "colima", "wsl", "adb")
