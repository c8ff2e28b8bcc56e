"""The lexer: bash quoting, normalised words, operators, redirections and here-documents."""
from __future__ import annotations

import pytest

from guardsh.engine.extract import extract_tolerant
from guardsh.engine.lex import Token, assignment_end, is_assignment, read_word, tokenize
from guardsh.engine.model import Redirect, Word
from guardsh.engine.scan import LexError, find_subs


def word(text: str) -> Word:
    """Read ``text`` as exactly one word."""
    w, end = read_word(text)
    assert end == len(text), f"{text!r} is not one word (stopped at {end})"
    return w


def values(text: str, params: dict[str, str] | None = None) -> list[str]:
    return [t.word.value for t in tokenize(text, params) if t.word is not None]


def kinds(text: str) -> list[tuple[str, str]]:
    return [(t.kind, t.raw) for t in tokenize(text)]


def redirects(text: str) -> list[Redirect]:
    return [t.redirect for t in tokenize(text) if t.redirect is not None]


# --- quote removal: every spelling of a program name reads as the name -------------------

@pytest.mark.parametrize("text", [
    "rm", "\\rm", "r\\m", "r''m", 'r""m', "'rm'", '"rm"', "rm''", 'rm""', "'r'\"m\"",
    "$'rm'", "$'\\x72\\x6d'", "$'\\162\\155'", "$'\\u0072m'", "$'\\U00000072m'",
])
def test_quoted_and_escaped_spellings_of_a_name(text: str) -> None:
    w = word(text)
    assert w.value == "rm"
    assert not w.dynamic and not w.glob and not w.subs


def test_line_continuation_inside_a_word_is_removed() -> None:
    assert values("r\\\nm -rf x") == ["rm", "-rf", "x"]
    assert values("rm \\\n  -rf x") == ["rm", "-rf", "x"]


def test_a_path_keeps_its_directories_in_the_word() -> None:
    # the lexer keeps the path; Command.program (tested in test_parse) takes the basename
    assert word("/usr/bin/rm").value == "/usr/bin/rm"
    assert word('"/usr/bin/rm"').value == "/usr/bin/rm"


@pytest.mark.parametrize("text, value", [
    ("$'a\\tb'", "a\tb"),
    ("$'it\\'s'", "it's"),
    ("$'\\n'", "\n"),
    ("$'\\e[0m'", "\x1b[0m"),
    ("$'\\cA'", "\x01"),
    ("$'\\x41\\101\\u00e9'", "AA\u00e9"),
    ("$'\\q'", "\\q"),  # unknown escapes stay as written
])
def test_ansi_c_quoting(text: str, value: str) -> None:
    assert word(text).value == value


@pytest.mark.parametrize("text, value", [
    ('"a\\"b"', 'a"b'),
    ('"a\\$b"', "a$b"),
    ('"a\\`b"', "a`b"),
    ('"\\\\"', "\\"),
    ('"a\\nb"', "a\\nb"),  # in double quotes a backslash before other characters stays
    ("'a\\nb'", "a\\nb"),
    ("a\\ b", "a b"),
    ("\"a\"'b'c", "abc"),
    ("'$HOME'", "$HOME"),
    ("'$(rm x)'", "$(rm x)"),
    ('"a b"', "a b"),
])
def test_quote_removal(text: str, value: str) -> None:
    assert word(text).value == value


def test_single_quotes_make_expansions_literal() -> None:
    w = word("'$(rm -rf ~)'")
    assert w.value == "$(rm -rf ~)" and not w.dynamic and not w.subs
    w = word("'`rm -rf ~`'")
    assert not w.dynamic and not w.subs


@pytest.mark.parametrize("text", ["-rf", "-r", "--force", "--opt=v", "-n10", "--", "-", "+x", "-9"])
def test_flag_words_are_kept_as_written(text: str) -> None:
    # cluster splitting (-rf -> -r -f) belongs to classify.View, not to the lexer
    assert word(text).value == text
    assert values(f"rm {text} x") == ["rm", text, "x"]


# --- expansions: dynamic, glob, tilde, substitutions --------------------------------------

@pytest.mark.parametrize("text", ["$HOME", "${HOME}", '"$x"', "$1", "$@", '"$@"', "a$b", "${x:-y}", "$(ls)", "`ls`",
                                  "$((1+2))"])
def test_expansions_are_dynamic(text: str) -> None:
    assert word(text).dynamic


@pytest.mark.parametrize("text, glob", [
    ("*.py", True), ("a?", True), ("a[12]", True), ("{a,b}", True), ("{1..3}", True), ("@(a|b)", True),
    ("'*.py'", False), ('"*.py"', False), ("\\*", False), ("{a}", False), ("plain", False),
])
def test_unquoted_patterns_are_globs(text: str, glob: bool) -> None:
    assert word(text).glob is glob


@pytest.mark.parametrize("text, tilde", [("~", True), ("~/x", True), ("~user", True), ("'~'", False),
                                          ('"~"', False), ("\\~", False), ("a~", False)])
def test_tilde_is_only_an_unquoted_leading_tilde(text: str, tilde: bool) -> None:
    assert word(text).tilde is tilde


@pytest.mark.parametrize("text, subs", [
    ("$(rm a)", ("rm a",)),
    ("`rm a`", ("rm a",)),
    ('"$(rm a)"', ("rm a",)),
    ('"`rm a`"', ("rm a",)),
    ('"$(rm "a b")"', ('rm "a b"',)),
    ("x$(a)y$(b)", ("a", "b")),
    ("${x:-$(rm a)}", ("rm a",)),
    ("${x/$(rm a)/y}", ("rm a",)),
    ("${arr[$(rm a)]}", ("rm a",)),
    ("$((1 + $(rm a)))", ("rm a",)),
    ("$[$(rm a)+1]", ("rm a",)),
    ("$(echo $(rm a))", ("echo $(rm a)",)),
    ("`echo \\`rm a\\``", ("echo `rm a`",)),
    ("x=$(rm a)", ("rm a",)),
    ("a=( $(rm a) )", ("rm a",)),
    ("$((1+2))", ()),
])
def test_command_substitutions_are_collected(text: str, subs: tuple[str, ...]) -> None:
    assert word(text).subs == subs


@pytest.mark.parametrize("text, sub", [("<(rm a)", "rm a"), (">(rm b)", "rm b")])
def test_process_substitution_is_a_word_with_its_command(text: str, sub: str) -> None:
    tokens = tokenize(f"diff {text} x")
    assert tokens[1].kind == "word" and tokens[1].word is not None
    assert tokens[1].word.subs == (sub,) and tokens[1].word.dynamic


# --- operators ------------------------------------------------------------------------------

def test_list_and_pipeline_operators() -> None:
    assert kinds("a && b || c ; d | e |& f & g\nh") == [
        ("word", "a"), ("op", "&&"), ("word", "b"), ("op", "||"), ("word", "c"), ("op", ";"),
        ("word", "d"), ("op", "|"), ("word", "e"), ("op", "|&"), ("word", "f"), ("op", "&"),
        ("word", "g"), ("op", "\n"), ("word", "h"),
    ]


def test_operators_need_no_blanks() -> None:
    assert kinds("a&&b;c|d") == [("word", "a"), ("op", "&&"), ("word", "b"), ("op", ";"), ("word", "c"),
                                 ("op", "|"), ("word", "d")]


def test_grouping_and_case_operators() -> None:
    assert [raw for kind, raw in kinds("(a); { b; }") if kind == "op"] == ["(", ")", ";", ";"]
    assert ("op", ";;") in kinds("case x in a) b;; esac")


def test_arithmetic_command_is_one_token_with_its_substitutions() -> None:
    tokens = tokenize("(( x = $(rm a) + 1 ))")
    assert [t.kind for t in tokens] == ["arith"]
    assert tokens[0].subs == ("rm a",)
    # not at a command start: two subshell parentheses
    assert [t.raw for t in tokenize("x=1 (( y ))")][1:3] == ["(", "("]


def test_comments() -> None:
    assert values("ls # rm -rf ~") == ["ls"]
    assert values("ls #$(rm a)") == ["ls"]
    assert values("echo a#b") == ["echo", "a#b"]
    assert values("echo a #c\nrm b") == ["echo", "a", "rm", "b"]
    assert values("# only a comment") == []


# --- redirections -----------------------------------------------------------------------

@pytest.mark.parametrize("text, op, fd, target", [
    ("a > out", ">", None, "out"),
    ("a >out", ">", None, "out"),
    ("a >> log", ">>", None, "log"),
    ("a 2>/dev/null", ">", 2, "/dev/null"),
    ("a &> all", "&>", None, "all"),
    ("a &>> all", "&>>", None, "all"),
    ("a >| f", ">|", None, "f"),
    ("a < in", "<", None, "in"),
    ("a <> f", "<>", None, "f"),
    ("a 3<> f", "<>", 3, "f"),
    ("a >& out", ">&", None, "out"),
    ('a > "my file"', ">", None, "my file"),
    ("a > ~/x", ">", None, "~/x"),
])
def test_redirect_targets(text: str, op: str, fd: int | None, target: str) -> None:
    (r,) = redirects(text)
    assert (r.op, r.fd) == (op, fd)
    assert r.target is not None and r.target.value == target
    assert values(text) == ["a"]  # the target is not an argument


@pytest.mark.parametrize("text, op, fd", [
    ("a 2>&1", ">&", 2), ("a >&2", ">&", None), ("a 1>&2", ">&", 1), ("a 3<&0", "<&", 3), ("a 4>&-", ">&", 4),
])
def test_fd_duplications_have_no_target(text: str, op: str, fd: int | None) -> None:
    (r,) = redirects(text)
    assert (r.op, r.fd, r.target) == (op, fd, None)
    assert not r.writes


def test_redirect_target_keeps_substitutions() -> None:
    (r,) = redirects('echo hi > "$(rm a)"')
    assert r.target is not None and r.target.subs == ("rm a",)
    (r,) = redirects("cat < <(rm a)")
    assert r.target is not None and r.target.subs == ("rm a",)


def test_digits_are_an_fd_only_right_before_the_operator() -> None:
    assert values("echo 2 > x") == ["echo", "2"]
    (r,) = redirects("echo 2 > x")
    assert r.fd is None


def test_here_string() -> None:
    (r,) = redirects("cat <<< 'rm -rf ~'")
    assert r.op == "<<<" and r.heredoc == "rm -rf ~"
    (r,) = redirects('cat <<< "$(rm a)"')
    assert r.target is not None and r.target.subs == ("rm a",)


# --- here-documents -----------------------------------------------------------------------

@pytest.mark.parametrize("delim, quoted", [
    ("EOF", False), ("'EOF'", True), ('"EOF"', True), ("\\EOF", True), ('E"O"F', True), ("'E'OF", True),
])
def test_heredoc_body_and_quoting(delim: str, quoted: bool) -> None:
    (r,) = redirects(f"cat <<{delim}\nline $(x)\nEOF\n")
    assert r.op == "<<" and r.target is None
    assert r.heredoc == "line $(x)\n"
    assert r.heredoc_quoted is quoted


def test_heredoc_dash_strips_leading_tabs() -> None:
    (r,) = redirects("cat <<-EOF\n\tone\n\t\ttwo\n\tEOF\n")
    assert r.op == "<<-" and r.heredoc == "one\ntwo\n"


def test_heredoc_body_is_not_tokenised_as_commands() -> None:
    assert values("cat <<EOF\nrm -rf ~\nEOF\nls") == ["cat", "ls"]


def test_heredoc_delimiter_must_be_the_whole_line() -> None:
    (r,) = redirects("cat <<EOF\nEOF \n EOF\nEOFX\nEOF\n")
    assert r.heredoc == "EOF \n EOF\nEOFX\n"


def test_several_heredocs_on_one_line() -> None:
    a, b = redirects("cat <<A <<'B'\none\nA\ntwo\nB\n")
    assert (a.heredoc, a.heredoc_quoted) == ("one\n", False)
    assert (b.heredoc, b.heredoc_quoted) == ("two\n", True)


def test_commands_after_the_operator_on_the_same_line_are_words() -> None:
    assert values("cat <<EOF; rm b\nbody\nEOF\n") == ["cat", "rm", "b"]
    assert values("cat <<EOF | grep x\nbody\nEOF\n") == ["cat", "grep", "x"]


def test_unterminated_heredoc_reads_to_the_end() -> None:
    (r,) = redirects("cat <<EOF\nrm -rf ~")
    assert r.heredoc == "rm -rf ~\n"
    (r,) = redirects("cat <<EOF")
    assert r.heredoc == ""


# --- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "echo 'unterminated", 'echo "unterminated', "echo `ls", "echo $(ls", "echo ${x", "echo $'abc",
    "ls >", "ls > ;", "ls 2>", "cat <", "ls > >(rm a",
])
def test_unterminated_quoting_raises(text: str) -> None:
    with pytest.raises(LexError):
        tokenize(text)


# --- positional parameters ----------------------------------------------------------------

def test_positional_parameters_are_substituted() -> None:
    params = {"0": "sh", "1": "/", "2": "a b", "#": "2"}
    assert values('rm -rf "$1"', params) == ["rm", "-rf", "/"]
    assert values("echo ${1} $0 $#", params) == ["echo", "/", "sh", "2"]
    assert values('rm "$@"', params) == ["rm", "/", "a b"]
    assert values("rm $@", params) == ["rm", "/", "a", "b"]  # unquoted: split again, as bash does
    tokens = tokenize('rm -rf "$1"', params)
    assert tokens[-1].word is not None and not tokens[-1].word.dynamic


def test_unknown_parameters_stay_dynamic() -> None:
    tokens = tokenize('rm -rf "$3" $HOME', {"0": "sh", "#": "0"})
    assert [t.word.dynamic for t in tokens if t.word is not None] == [False, False, True, True]
    assert values('rm "$@"', {"0": "sh", "#": "0"}) == ["rm"]


def test_substituted_values_are_not_evaluated_again() -> None:
    tokens = tokenize('echo "$1"', {"0": "sh", "1": "$(rm -rf ~)", "#": "1"})
    last = tokens[-1].word
    assert last is not None and last.value == "$(rm -rf ~)" and not last.subs


# --- assignments, find_subs -------------------------------------------------------------

@pytest.mark.parametrize("text, end", [
    ("A=1", 2), ("A+=1", 3), ("a_1=x", 4), ("a[1]=x", 5), ("a[$i]=x", 6), ("A=", 2),
    ("1A=x", -1), ("=x", -1), ("A", -1), ("-A=1", -1), ("a b=1", -1),
])
def test_assignment_end(text: str, end: int) -> None:
    assert assignment_end(text) == end
    assert is_assignment(text) is (end > 0)


@pytest.mark.parametrize("text, subs", [
    ("plain text", []),
    ("a $(rm a) b `rm b`", ["rm a", "rm b"]),
    ("\\$(not a) \\`not b\\`", []),
    ("$((1+$(rm a)))", ["rm a"]),
    ("${x:-$(rm a)}", ["rm a"]),
    ("'$(rm a)'", ["rm a"]),  # a here-document body: quotes are data, the substitution still runs
])
def test_find_subs(text: str, subs: list[str]) -> None:
    assert find_subs(text) == subs


# --- extractors -----------------------------------------------------------------------------

def _argvs(tokens: list[Token], tolerant: bool = True) -> list[list[str]] | None:
    return [[w.value for w in c.words] for c in extract_tolerant(tokens).commands]


def test_extract_tolerant_reads_lists_and_pipelines() -> None:
    assert _argvs(tokenize("a 1 && b | c; d &")) == [["a", "1"], ["b"], ["c"], ["d"]]


def test_extract_tolerant_skips_reserved_words_and_patterns() -> None:
    assert _argvs(tokenize("case $x in a|b) rm a;; *) rm b;; esac"), True) == [["rm", "a"], ["rm", "b"]]
    assert _argvs(tokenize("select x in a b; do rm $x; done"), True) == [["rm", "$x"]]
    assert _argvs(tokenize("[[ -f x ]] && rm x"), True) == [["rm", "x"]]
    assert _argvs(tokenize("coproc rm a"), True) == [["rm", "a"]]
    assert _argvs(tokenize("time -p rm a"), True) == [["rm", "a"]]
    result = extract_tolerant(tokenize("function g { rm a; }; h() { rm b; }"))
    assert result.functions == ["g", "h"]


def test_pipes_record_the_feeding_program() -> None:
    result = extract_tolerant(tokenize("curl -s x | /bin/sh && ls |& grep y"))
    piped = [(c.words[0].value, c.piped, c.piped_from) for c in result.commands]
    assert piped == [("curl", False, None), ("/bin/sh", True, "curl"), ("ls", False, None), ("grep", True, "ls")]


def test_leading_assignments_are_not_words() -> None:
    result = extract_tolerant(tokenize("A=1 B=$(rm a) ls A=2"))
    (cmd,) = result.commands
    assert [(n, w.value) for n, w in cmd.assignments] == [("A", "1"), ("B", "$(rm a)")]
    assert cmd.assignments[1][1].subs == ("rm a",)
    assert [w.value for w in cmd.words] == ["ls", "A=2"]


# --- known lexer bugs -------------------------------------------------------------------

def test_trailing_backslash_is_a_literal_backslash() -> None:
    assert values("echo a \\") == ["echo", "a", "\\"]
