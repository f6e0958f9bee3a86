"""orm's MySQL 8 / MariaDB driver (aiomysql). Selected by ``mysql://`` or ``mariadb://`` URLs."""

from orm.mysql.connection import MySqlConnection
from orm.mysql.driver import MySqlDriver
from orm.mysql.server import ServerInfo, parse_server_version
from orm.mysql.url import MySqlOptions, MySqlUrl, parse_mysql_url

__all__ = [
    "MySqlConnection",
    "MySqlDriver",
    "MySqlOptions",
    "MySqlUrl",
    "ServerInfo",
    "parse_mysql_url",
    "parse_server_version",
]
