from __future__ import annotations

import pytest

from squall.db.placeholders import code_text, prepare, translate


def test_question_marks_become_numbered_parameters_for_postgresql() -> None:
    stmt = translate("SELECT * FROM t WHERE a = ? AND b IN (?, ?)", "postgresql")
    assert stmt.sql == "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)"
    assert stmt.param_count == 3


def test_question_marks_become_percent_s_for_mysql() -> None:
    stmt = translate("UPDATE t SET a = ? WHERE b = ?", "mysql")
    assert stmt.sql == "UPDATE t SET a = %s WHERE b = %s"
    assert stmt.param_count == 2


def test_sqlite_keeps_question_marks_and_counts_them() -> None:
    stmt = translate("INSERT INTO t VALUES (?, ?)", "sqlite")
    assert stmt.sql == "INSERT INTO t VALUES (?, ?)"
    assert stmt.param_count == 2


@pytest.mark.parametrize("dialect", ["sqlite", "mysql", "postgresql"])
def test_question_mark_inside_a_string_literal_is_text(dialect: str) -> None:
    stmt = translate("SELECT 'why?', ? FROM t WHERE note = 'it''s ok?'", dialect)
    assert stmt.param_count == 1
    assert "'why?'" in stmt.sql
    assert "'it''s ok?'" in stmt.sql


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_question_mark_inside_a_quoted_identifier_is_text(dialect: str) -> None:
    stmt = translate('SELECT "odd?name" FROM t WHERE x = ?', dialect)
    assert stmt.param_count == 1
    assert '"odd?name"' in stmt.sql


def test_question_mark_inside_backquotes_is_text_on_mysql() -> None:
    assert translate("SELECT `odd?` FROM t WHERE x = ?", "mysql").sql == (
        "SELECT `odd?` FROM t WHERE x = %s"
    )


@pytest.mark.parametrize("dialect", ["sqlite", "mysql", "postgresql"])
def test_question_mark_inside_comments_is_text(dialect: str) -> None:
    stmt = translate("SELECT ? -- really?\n, /* or ? */ ?", dialect)
    assert stmt.param_count == 2


def test_mysql_backslash_escaped_quote_does_not_end_the_literal() -> None:
    stmt = translate(r"SELECT 'it\'s?' , ?", "mysql")
    assert stmt.sql == r"SELECT 'it\'s?' , %s"


def test_postgresql_plain_strings_treat_backslash_as_text() -> None:
    # standard_conforming_strings: '\' is a complete one-character string.
    stmt = translate("SELECT '\\', ?", "postgresql")
    assert stmt.sql == "SELECT '\\', $1"


def test_postgresql_escape_strings_honour_backslash_quotes() -> None:
    stmt = translate(r"SELECT E'it\'s?', ?", "postgresql")
    assert stmt.sql == r"SELECT E'it\'s?', $1"


def test_postgresql_dollar_quoted_strings_are_text() -> None:
    stmt = translate("SELECT $$what?$$, $tag$ ? $tag$, ?", "postgresql")
    assert stmt.sql == "SELECT $$what?$$, $tag$ ? $tag$, $1"


def test_mysql_percent_signs_are_doubled_everywhere() -> None:
    # asyncmy applies Python %-formatting to the whole statement.
    stmt = translate("SELECT '50%' WHERE a LIKE ? AND b % 2 = 0", "mysql")
    assert stmt.sql == "SELECT '50%%' WHERE a LIKE %s AND b %% 2 = 0"


@pytest.mark.parametrize("dialect", ["sqlite", "mysql", "postgresql"])
def test_unterminated_literal_is_a_value_error(dialect: str) -> None:
    with pytest.raises(ValueError, match="unterminated ' quote starting at offset 7"):
        translate("SELECT 'oops ?", dialect)


def test_parameter_count_mismatch_names_both_counts() -> None:
    with pytest.raises(ValueError, match=r"SQL has 2 \? placeholder\(s\) but 1 parameter"):
        prepare("SELECT ?, ?", [1], "postgresql")


def test_code_text_blanks_literals_for_keyword_checks() -> None:
    text = code_text("INSERT INTO t VALUES ('RETURNING') RETURNING id", "postgresql")
    assert "'RETURNING'" not in text
    assert text.count("RETURNING") == 1
