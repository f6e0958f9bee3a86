"""orm's PostgreSQL driver (asyncpg). Work in progress: see docs/drivers.md."""
