"""parse_script: every simple command that may run however nested, the parse mode, and the grammar."""
from __future__ import annotations

from typing import Callable

import pytest

from guardsh.engine.extract import extract_tolerant
from guardsh.engine.lex import tokenize
from guardsh.engine.model import Command, Decision, Verdict
from guardsh.engine import tree
from guardsh.engine.parse import MAX_DEPTH, MAX_TEXT, Parsed, parse_script


def argvs(text: str, params: dict[str, str] | None = None) -> list[tuple[str, ...]]:
    return [c.argv for c in parse_script(text, params).commands]


def find(parsed: Parsed, *argv: str) -> Command:
    for c in parsed.commands:
        if c.argv == argv:
            return c
    raise AssertionError(f"{argv} not among {[c.argv for c in parsed.commands]}")


# --- normalised program names -------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "rm -rf x", "\\rm -rf x", "r''m -rf x", '"rm" -rf x', "'rm' -rf x", "$'\\x72\\x6d' -rf x", "$'\\162\\155' -rf x",
    "/usr/bin/rm -rf x", '"/usr/bin/rm" -rf x', "/bin/rm -rf x", "./rm -rf x", "r\\\nm -rf x",
])
def test_every_spelling_of_rm_is_rm(text: str) -> None:
    (cmd,) = parse_script(text).commands
    assert cmd.program == "rm"
    assert cmd.argv[1:] == ("-rf", "x")


def test_flag_words_reach_the_command_as_written() -> None:
    (cmd,) = parse_script("rm -rf --no-preserve-root -- /").commands
    assert cmd.argv == ("rm", "-rf", "--no-preserve-root", "--", "/")


# --- every place commands hide ------------------------------------------------------------

HIDING = [
    # (text, the command that must be found, its via)
    ("ls | rm a", ("rm", "a"), ()),
    ("ls && rm a", ("rm", "a"), ()),
    ("false || rm a", ("rm", "a"), ()),
    ("ls; rm a", ("rm", "a"), ()),
    ("ls & rm a", ("rm", "a"), ()),
    ("ls\nrm a", ("rm", "a"), ()),
    ("! rm a", ("rm", "a"), ()),
    ("(rm a)", ("rm", "a"), ()),
    ("(ls; (rm a))", ("rm", "a"), ()),
    ("{ rm a; }", ("rm", "a"), ()),
    ("echo $(rm a)", ("rm", "a"), ("$( )",)),
    ('echo "$(rm a)"', ("rm", "a"), ("$( )",)),
    ("echo `rm a`", ("rm", "a"), ("$( )",)),
    ('echo "`rm a`"', ("rm", "a"), ("$( )",)),
    ("echo $(echo $(rm a))", ("rm", "a"), ("$( )", "$( )")),
    ("echo `echo \\`rm a\\``", ("rm", "a"), ("$( )", "$( )")),
    ("diff <(rm a) x", ("rm", "a"), ("$( )",)),
    ("tee >(rm a) < x", ("rm", "a"), ("$( )",)),
    ("cat < <(rm a)", ("rm", "a"), ("$( )",)),
    ("exec > >(rm a)", ("rm", "a"), ("$( )",)),
    ("for f in *; do rm a; done", ("rm", "a"), ()),
    ("for f in $(rm a); do echo; done", ("rm", "a"), ("$( )",)),
    ("while true; do rm a; done", ("rm", "a"), ()),
    ("while [ $(rm a) ]; do :; done", ("rm", "a"), ("$( )",)),
    ("until false; do rm a; done", ("rm", "a"), ()),
    ("if true; then rm a; fi", ("rm", "a"), ()),
    ("if rm a; then :; fi", ("rm", "a"), ()),
    ("if c1; then :; elif c2; then :; else rm a; fi", ("rm", "a"), ()),
    ("f() { rm a; }; f", ("rm", "a"), ("function f",)),  # a function runs where it is called (issue 12)
    ("function f { rm a; }; f x", ("rm", "a"), ("function f",)),
    ("function f() { rm a; }; f", ("rm", "a"), ("function f",)),
    ("f() { local x=$(rm a); }; f", ("rm", "a"), ("function f", "$( )")),
    ("case $x in a) rm a;; esac", ("rm", "a"), ()),
    ("case $x in a|b) ls;; *) rm a;; esac", ("rm", "a"), ()),
    ("case $(rm a) in *) ;; esac", ("rm", "a"), ("$( )",)),
    ("case $x in (a) ls ;& b) rm a ;;& esac", ("rm", "a"), ()),
    ("case a in (a) ls ;& b) rm a ;;& esac", ("rm", "a"), ()),  # ;& falls through into b)
    ("[[ $(rm a) == x ]]", ("rm", "a"), ("$( )",)),
    ("[[ -f $(rm a) ]] && echo", ("rm", "a"), ("$( )",)),
    ("if [[ -n `rm a` ]]; then ls; fi", ("rm", "a"), ("$( )",)),
    ("(( $(rm a) ))", ("rm", "a"), ("$( )",)),
    ("(( x = $(rm a) + 1 ))", ("rm", "a"), ("$( )",)),
    ("echo $(( $(rm a) + 1 ))", ("rm", "a"), ("$( )",)),
    ("echo $[$(rm a)+1]", ("rm", "a"), ("$( )",)),
    ("let x=$(rm a)", ("rm", "a"), ("$( )",)),
    ("for ((i=$(rm a); i<3; i++)); do echo; done", ("rm", "a"), ("$( )",)),
    ("a=( $(rm a) )", ("rm", "a"), ("$( )",)),
    ("declare -a arr=( $(rm a) )", ("rm", "a"), ("$( )",)),
    ("a[$(rm a)]=1", ("rm", "a"), ("$( )",)),
    ("echo ${arr[$(rm a)]}", ("rm", "a"), ("$( )",)),
    ("echo ${x:-$(rm a)}", ("rm", "a"), ("$( )",)),
    ('echo "${x/$(rm a)/y}"', ("rm", "a"), ("$( )",)),
    ("x=$(rm a)", ("rm", "a"), ("$( )",)),
    ("x=$(rm a) ls", ("rm", "a"), ("$( )",)),
    ("export X=$(rm a)", ("rm", "a"), ("$( )",)),
    ("echo hi > $(rm a)", ("rm", "a"), ("$( )",)),
    ("cat <<EOF\n$(rm a)\nEOF\n", ("rm", "a"), ("$( )",)),
    ("cat <<EOF\n`rm a`\nEOF\n", ("rm", "a"), ("$( )",)),
    ("cat <<-EOF\n\t$(rm a)\n\tEOF\n", ("rm", "a"), ("$( )",)),
    ("cat <<EOF\n${x:-$(rm a)}\nEOF\n", ("rm", "a"), ("$( )",)),
    ("cat <<EOF\n$((1+$(rm a)))\nEOF\n", ("rm", "a"), ("$( )",)),
    ("cat <<A <<B\none\nA\n$(rm a)\nB\n", ("rm", "a"), ("$( )",)),
    ("x=$(cat <<EOF\n$(rm a)\nEOF\n)", ("rm", "a"), ("$( )", "$( )")),
    ("cat <<EOF; rm a\nbody\nEOF\n", ("rm", "a"), ()),
    ("cat <<EOF\nbody\nEOF\nrm a", ("rm", "a"), ()),
    ("cat <<< \"$(rm a)\"", ("rm", "a"), ("$( )",)),
    ("select x in a b; do rm a; done", ("rm", "a"), ()),
    ("coproc rm a", ("rm", "a"), ()),
    ("coproc { rm a; }", ("rm", "a"), ()),
    ("time rm a", ("rm", "a"), ()),  # the time keyword times the pipeline; /usr/bin/time is a wrapper
    ("/usr/bin/time rm a", ("/usr/bin/time", "rm", "a"), ()),
    ("a=(1 2); for x in \"${a[@]}\"; do rm a; done", ("rm", "a"), ()),
    ("ls # comment\nrm a", ("rm", "a"), ()),
]


@pytest.mark.parametrize("text, argv, via", HIDING)
def test_commands_are_found_wherever_they_hide(text: str, argv: tuple[str, ...], via: tuple[str, ...]) -> None:
    parsed = parse_script(text)
    assert parsed.mode != "opaque", parsed.problems
    assert find(parsed, *argv).via == via


@pytest.mark.parametrize("text", [
    "echo 'rm -rf ~'",
    "echo '$(rm a)' '`rm a`'",
    'echo "rm -rf ~"',
    "echo \\`rm a\\`",
    "git commit -m 'rm a; rm b'",
    "ls # $(rm a)",
    "cat <<'EOF'\n$(rm a)\nrm a\nEOF\n",
    'cat <<"EOF"\n$(rm a)\nEOF\n',
    "cat <<\\EOF\n$(rm a)\nEOF\n",
    "cat <<E'O'F\n`rm a`\nEOF\n",
    "cat <<-'EOF'\n\t$(rm a)\n\tEOF\n",
    "cat <<EOF\n\\$(rm a)\nEOF\n",
    "cat <<EOF\nrm a\nEOF\n",
    "cat <<< 'rm a'",
    "cat <<< '$(rm a)'",
    "grep -e 'rm a' -e \"rm b\" file",
])
def test_data_is_not_a_command(text: str) -> None:
    parsed = parse_script(text)
    assert parsed.mode == "full"
    assert all(c.program != "rm" for c in parsed.commands), [c.argv for c in parsed.commands]


# --- parse modes ----------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "ls", "ls -la | grep x && echo ok; pwd", "A=1 make", "echo $(date) `id` <(ls)", "cat <<EOF\nx\nEOF\n",
    "cat <<'EOF'\nit's data\nEOF\n", "a=(1 2 3)", "echo $((1 + 2))", "",
    # structure
    "if true; then ls; fi", "for f in a b; do echo $f; done", "while read l; do echo; done < f",
    "(cd x && ls)", "{ ls; pwd; } > out", "f() { ls; }; f", "! false", "until false; do break; done",
    # structure bashlex rejected, which guardsh's grammar reads (it used to be the fallback)
    "[[ -f x ]] && ls",
    "case $x in a) ls;; esac",
    "(( i++ ))",
    "if (( x > 1 )); then ls; fi",
    "for ((i=0; i<3; i++)); do echo; done",
    "a=(1 2); for x in \"${a[@]}\"; do echo $x; done",
    "if true; then a=(x y); fi",
    "select x in a b; do echo $x; done",
    "coproc ls",
])
def test_full_parse(text: str) -> None:
    parsed = parse_script(text)
    assert parsed.mode == "full", parsed.problems
    assert not parsed.problems


@pytest.mark.parametrize("text", [
    "if true; then ls",  # bash: syntax error (no fi)
    "ls )",
    "{ echo }",
    "done; rm a",
    "find . ( -name x ) -exec rm {} ;",
    "for x in a b c do echo; done",
])
def test_fallback_parse(text: str) -> None:
    """What bash rejects as a syntax error: the tolerant extractor still finds every simple command."""
    parsed = parse_script(text)
    assert parsed.mode == "fallback"
    assert not parsed.problems


@pytest.mark.parametrize("text", [
    "echo 'unterminated", 'echo "unterminated', "echo `ls", "echo $(ls", "echo ${x", "echo $'abc", "ls >",
    # an unparseable substitution spoils the whole text
    "ls; echo $(echo 'x)",
])
def test_opaque_parse(text: str) -> None:
    parsed = parse_script(text)
    assert parsed.mode == "opaque"
    assert parsed.problems and parsed.problems[0].startswith("cannot parse")


def test_an_opaque_substitution_makes_the_whole_text_opaque() -> None:
    parsed = parse_script("ls && x=`echo $(echo 'a` ")
    assert parsed.mode == "opaque"


def test_nesting_limit() -> None:
    deep = "echo " + "$(echo " * (MAX_DEPTH + 3) + "x" + ")" * (MAX_DEPTH + 3)
    parsed = parse_script(deep)
    assert parsed.mode == "opaque" and "nesting too deep to analyse" in parsed.problems
    shallow = "echo " + "$(echo " * 3 + "x" + ")" * 3
    assert parse_script(shallow).mode == "full"


def test_size_limit() -> None:
    parsed = parse_script("ls " + "a" * (MAX_TEXT + 1))
    assert parsed.mode == "opaque" and "too large" in parsed.problems[0]


# --- positional parameters ------------------------------------------------------------------

def test_positional_parameters() -> None:
    params = {"0": "sh", "1": "/", "#": "1"}
    (cmd,) = parse_script('rm -rf "$1"', params=params).commands
    assert cmd.argv == ("rm", "-rf", "/") and not cmd.words[2].dynamic
    assert argvs("echo $0 ${1} $#", params) == [("echo", "sh", "/", "1")]
    assert argvs('rm "$@"', {"0": "sh", "1": "a b", "2": "c", "#": "2"}) == [("rm", "a b", "c")]
    (cmd,) = parse_script('rm -rf "$2"', params=params).commands
    assert cmd.words[2].value == "" and not cmd.words[2].dynamic  # the parameters are known: $2 is empty


def test_positional_parameters_reach_substitutions() -> None:
    params = {"0": "sh", "1": "/", "#": "1"}
    parsed = parse_script('echo $(rm -rf "$1")', params=params)
    assert find(parsed, "rm", "-rf", "/").via == ("$( )",)


def test_without_params_positional_parameters_are_dynamic() -> None:
    (cmd,) = parse_script('rm -rf "$1"').commands
    assert cmd.argv == ("rm", "-rf", "$1") and cmd.words[2].dynamic


# --- redirections, here-documents, pipes --------------------------------------------------

def test_redirect_targets_belong_to_their_command() -> None:
    parsed = parse_script("ls > out.txt 2>&1 && cat < in.txt >> log")
    ls, cat = parsed.commands
    assert [(r.op, r.fd, r.target.value if r.target else None) for r in ls.redirects] == [
        (">", None, "out.txt"), (">&", 2, None)]
    assert [(r.op, r.target.value if r.target else None) for r in cat.redirects] == [("<", "in.txt"), (">>", "log")]
    assert [r.writes for r in cat.redirects] == [False, True]


def test_redirections_of_compound_commands_are_kept() -> None:
    for text in ["{ ls; } > /etc/passwd", "(ls) > /etc/passwd", "for f in a; do ls; done > /etc/passwd",
                 "if true; then ls; fi > /etc/passwd", "while read x; do ls; done > /etc/passwd"]:
        parsed = parse_script(text)
        targets = [r.target.value for c in parsed.commands for r in c.redirects if r.target is not None]
        assert targets == ["/etc/passwd"], text


def test_a_redirection_alone_is_a_command_without_words() -> None:
    (cmd,) = parse_script("> app.log").commands
    assert cmd.words == () and cmd.redirects[0].target is not None
    assert cmd.redirects[0].target.value == "app.log"


def test_heredoc_bodies_are_kept_on_the_command() -> None:
    parsed = parse_script("cat <<'EOF' > notes.md\nrm -rf ~\nEOF\n")
    (cmd,) = parsed.commands
    heredoc, out = cmd.redirects
    assert (heredoc.op, heredoc.heredoc, heredoc.heredoc_quoted) == ("<<", "rm -rf ~\n", True)
    assert out.target is not None and out.target.value == "notes.md"
    (cmd,) = parse_script("python3 - <<< 'print(1)'").commands
    assert cmd.redirects[0].heredoc == "print(1)"


def test_command_text_is_the_source_span() -> None:
    parsed = parse_script("ls -la  |  grep 'x y' && echo $(id -u)")
    # a substitution runs before the command that uses its output
    assert [c.text for c in parsed.commands] == ["ls -la", "grep 'x y'", "id -u", "echo $(id -u)"]


@pytest.mark.parametrize("text", ["curl -s x | sh", "if true; then curl -s x | sh; fi", "(curl -s x | sh)",
                                  "curl -s x |& sh"])
def test_pipes_name_the_feeding_program(text: str) -> None:
    parsed = parse_script(text)
    sh = find(parsed, "sh")
    assert (sh.stdin, sh.stdin_from) == ("pipe", "curl")
    assert find(parsed, "curl", "-s", "x").stdin is None


def test_a_pipeline_chain() -> None:
    parsed = parse_script("ls | /usr/bin/grep x | wc -l")
    assert [(c.stdin, c.stdin_from) for c in parsed.commands] == [(None, None), ("pipe", "ls"), ("pipe", "grep")]


def test_functions_defined_by_the_text() -> None:
    assert parse_script("f() { rm a; }; function g { ls; }; h () { :; }").functions == {"f", "g", "h"}
    assert parse_script("case x in a) f() { ls; };; esac").functions == {"f"}
    assert parse_script("ls").functions == set()


def test_leading_assignments_are_not_arguments() -> None:
    (cmd,) = parse_script("AWS_PROFILE=prod FOO+=x aws s3 ls").commands
    assert [(n, w.value) for n, w in cmd.assignments] == [("AWS_PROFILE", "prod"), ("FOO", "x")]
    assert cmd.argv == ("aws", "s3", "ls")


# --- the fallback and the grammar agree on lists ---------------------------------------------------------

AGREE = [
    "ls", "ls -la /tmp", "rm -rf -- build", "\\rm -rf x", "r''m x", '"rm" -f x', "/usr/bin/rm -rf /",
    "git commit -m 'fix: rm -rf edge case'", "echo \"a b\" 'c d' e\\ f", "echo $'a\\tb'",
    "ls | grep x | wc -l", "make && make install || echo failed; echo done", "sleep 1 & wait",
    "ls |& tee log", "a=1 b=2 env", "A=1", "FOO=$(date) make", "x=`whoami` ls",
    "echo $(rm a) `rm b`", 'echo "$(ls "a b")"', "diff <(ls a) <(ls b)", "tee >(wc -l) < f",
    "ls > out.txt 2>&1", "cat < in > out", "cmd 2>/dev/null >> log", "ls &> all", "echo x >| f",
    'echo hi > "$(mktemp)"', "cat <<< 'here string'", "echo ${HOME:-/}", "exec 3< file",
    "kubectl get pods -n prod -o json | jq .items", "find . -name '*.pyc' -exec rm {} +",
    "xargs -0 -I{} rm {}", "sudo -u root systemctl restart nginx", "ssh host 'ls -l'",
    "curl -fsSL https://example.com/x.sh | bash", "echo a;echo b&&echo c||echo d",
    "ls\nrm a\npwd", "git log --oneline -n 5 | cat", "tar -czf out.tgz dir/ && rm -rf dir/",
    "echo ~ ~/x", "printf '%s\\n' *.py", "cat <<EOF\nbody $(date)\nEOF\n", "cat <<EOF | sh\nls\nEOF\n",
]


@pytest.mark.parametrize("text", AGREE)
def test_tolerant_extractor_and_grammar_find_the_same_commands(text: str) -> None:
    """On lists and pipelines the fallback and the grammar agree, command for command."""
    tokens = tokenize(text)
    simple = tree.simple_commands(tree.parse_tokens(tokens))
    assert [(c.start, c.end) for c in extract_tolerant(tokens).commands] == [(s.start, s.end) for s in simple]


def test_the_grammar_reads_structure() -> None:
    parsed = parse_script("if ls | grep -q x; then rm -f y; fi")
    assert [c.argv for c in parsed.commands] == [("ls",), ("grep", "-q", "x"), ("rm", "-f", "y")]
    assert [c.stdin_from for c in parsed.commands] == [None, "ls", None]


# --- parser bugs found and fixed (kept as regression tests) ----------------------------------------------------------------------

def test_case_arm_inside_command_substitution(classify: Callable[[str], Verdict]) -> None:
    parsed = parse_script("echo $(case a in a) rm -rf ~;; esac)")
    assert any(c.program == "rm" for c in parsed.commands), [c.argv for c in parsed.commands]
    assert classify("echo $(case a in a) rm -rf ~;; esac)").decision == Decision.DENY


def test_heredoc_with_apostrophe_inside_command_substitution(classify: Callable[[str], Verdict]) -> None:
    text = "git commit -m \"$(cat <<'EOF'\nFix the parser's bug\nEOF\n)\""
    parsed = parse_script(text)
    assert parsed.mode != "opaque", parsed.problems
    assert classify("echo \"$(cat <<'EOF'\nit's fine\nEOF\n)\"").decision == Decision.ALLOW


def test_heredoc_with_parenthesis_inside_command_substitution() -> None:
    parsed = parse_script("git commit -m \"$(cat <<'EOF'\nFix: handle ) in text\nEOF\n)\"")
    (cat,) = [c for c in parsed.commands if c.program == "cat"]
    assert cat.redirects[0].heredoc == "Fix: handle ) in text\n"


def test_unquoted_substituted_parameters_are_split() -> None:
    params = {"0": "sh", "1": "/ x", "#": "1"}
    assert argvs("rm -rf $1", params) == [("rm", "-rf", "/", "x")]


def test_arithmetic_for_clauses_are_not_commands() -> None:
    assert argvs("for ((i=0; i<3; i++)); do echo; done") == [("echo",)]


@pytest.mark.parametrize("text", ["{rm,-rf,~}", "r{m,} -rf ~"])
def test_brace_expansion_in_the_program_word_is_gated(classify: Callable[[str], Verdict], text: str) -> None:
    assert classify(text).decision >= Decision.ASK


@pytest.mark.parametrize("text", ["/usr/bin/r? -rf ~", "/???/r[m] -rf ~"])
def test_glob_in_the_program_word_is_gated(classify: Callable[[str], Verdict], text: str) -> None:
    assert classify(text).decision >= Decision.ASK
