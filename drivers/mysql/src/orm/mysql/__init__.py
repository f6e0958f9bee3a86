"""orm's MySQL/MariaDB driver (aiomysql). Work in progress: see docs/drivers.md."""
