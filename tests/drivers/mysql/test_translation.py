"""Error translation from the exact texts MySQL 8 and MariaDB send (no server needed).

MySQL 8 phrases some errors differently from the MariaDB the suite runs against; these
messages are copied from MySQL 8.0 servers.
"""

from __future__ import annotations

import pymysql
import pytest
from sqlalchemy.schema import CreateTable

from orm.core import PrimaryKey, Property, entity
from orm.core.errors import (
    CheckConstraintViolation,
    ConnectionError,
    DeadlockError,
    DriverError,
    ForeignKeyViolation,
    LockWaitError,
    NotNullViolation,
    SyntaxError,
    UniqueConstraintViolation,
)
from orm.core.metadata.discovery import discover
from orm.core.metadata.naming import NamingStrategy
from orm.mysql import MySqlDriver, ServerInfo
from orm.mysql.errors import translate_mysql_error

from ...compliance.models import LIBRARY, Sample


@pytest.fixture
def driver() -> MySqlDriver:
    instance = MySqlDriver.from_url("mysql://u@h/d")
    instance._apply_server(ServerInfo(mariadb=False, version=(8, 0, 36), autoinc_lock_mode=2))
    instance.prepare(list(discover([*LIBRARY, Sample], NamingStrategy()).values()))
    return instance


def _translate(
    driver: MySqlDriver, code: int, message: str, table: str | None = "author"
) -> DriverError:
    error = pymysql.err.OperationalError(code, message)
    return translate_mysql_error(driver, error, sql="SQL", table=table)


def test_mysql8_duplicate_keys_carry_the_table_name(driver: MySqlDriver) -> None:
    error = _translate(
        driver, 1062, "Duplicate entry 'a@x.io' for key 'author.uq_author_email'", table=None
    )
    assert isinstance(error, UniqueConstraintViolation)
    assert (error.table, error.constraint, error.columns) == (
        "author",
        "uq_author_email",
        ("email",),
    )
    assert error.sql == "SQL"


def test_mariadb_duplicate_keys_and_the_primary_key(driver: MySqlDriver) -> None:
    error = _translate(driver, 1062, "Duplicate entry 'a@x.io' for key 'uq_author_email'")
    assert (error.table, error.columns) == ("author", ("email",))
    primary = _translate(driver, 1062, "Duplicate entry '3' for key 'PRIMARY'", table="book")
    assert (primary.constraint, primary.columns) == ("pk_book", ("id",))


@entity(table="a_table_whose_name_is_long_enough_to_need_truncation")
class LongNamed:
    id: int = PrimaryKey()
    an_equally_long_column_name_for_the_key: str = Property(unique=True)


def test_a_truncated_constraint_name_is_found() -> None:
    driver = MySqlDriver.from_url("mysql://u@h/d")
    driver.prepare(list(discover([LongNamed], NamingStrategy()).values()))
    table = "a_table_whose_name_is_long_enough_to_need_truncation"
    (key,) = [
        line.split()[1]
        for line in driver.ddl(CreateTable(driver.tables[table])).splitlines()
        if "UNIQUE" in line
    ]
    assert len(key) <= 64
    error = _translate(driver, 1062, f"Duplicate entry 'x' for key '{key}'", table=table)
    assert error.columns == ("an_equally_long_column_name_for_the_key",)


def test_foreign_keys(driver: MySqlDriver) -> None:
    parent = _translate(
        driver,
        1451,
        "Cannot delete or update a parent row: a foreign key constraint fails (`orm_test`.`book`, "
        "CONSTRAINT `fk_book_author_id` FOREIGN KEY (`author_id`) REFERENCES `author` (`id`))",
    )
    assert isinstance(parent, ForeignKeyViolation)
    assert (parent.table, parent.constraint, parent.columns) == (
        "book",
        "fk_book_author_id",
        ("author_id",),
    )
    child = _translate(
        driver,
        1452,
        "Cannot add or update a child row: a foreign key constraint fails (`orm_test`.`book`, "
        "CONSTRAINT `fk_book_author_id` FOREIGN KEY (`author_id`) REFERENCES `author` (`id`))",
        table="book",
    )
    assert isinstance(child, ForeignKeyViolation) and "does not exist" in str(child)


def test_check_constraints_of_both_servers(driver: MySqlDriver) -> None:
    mysql = _translate(driver, 3819, "Check constraint 'ck_sample_color' is violated.", "sample")
    mariadb = _translate(
        driver, 4025, "CONSTRAINT `ck_sample_color` failed for `orm_test`.`sample`", None
    )
    for error in (mysql, mariadb):
        assert isinstance(error, CheckConstraintViolation)
        assert (error.table, error.constraint) == ("sample", "ck_sample_color")


@pytest.mark.parametrize(
    ("code", "message", "kind"),
    [
        (1048, "Column 'name' cannot be null", NotNullViolation),
        (1364, "Field 'name' doesn't have a default value", NotNullViolation),
        (1205, "Lock wait timeout exceeded; try restarting transaction", LockWaitError),
        (
            3572,
            "Statement aborted because lock(s) could not be acquired immediately and NOWAIT is "
            "set.",
            LockWaitError,
        ),
        (1213, "Deadlock found when trying to get lock; try restarting transaction", DeadlockError),
        (
            1020,  # MariaDB, innodb_snapshot_isolation=ON: a write conflict
            "Record has changed since last read in table 'author'; try restarting transaction",
            DeadlockError,
        ),
        (1064, "You have an error in your SQL syntax", SyntaxError),
        (1054, "Unknown column 'x' in 'field list'", SyntaxError),
        (
            2003,
            "Can't connect to MySQL server on 'db' ([Errno 111] Connection refused)",
            ConnectionError,
        ),
        (2006, "MySQL server has gone away", ConnectionError),
        (2013, "Lost connection to MySQL server during query", ConnectionError),
        (1045, "Access denied for user 'app'@'localhost' (using password: YES)", ConnectionError),
    ],
)
def test_error_codes(driver: MySqlDriver, code: int, message: str, kind: type[DriverError]) -> None:
    error = _translate(driver, code, message)
    assert type(error) is kind, error
    assert str(error)


def test_missing_tables_and_unknown_errors(driver: MySqlDriver) -> None:
    missing = _translate(driver, 1146, "Table 'orm_test.book' doesn't exist", None)
    assert missing.table == "book" and "schema.create" in str(missing)
    other = _translate(driver, 9999, "something new")
    assert type(other) is DriverError and "9999" in str(other)
    assert "h:3306" in str(_translate(driver, 2003, "Can't connect"))
