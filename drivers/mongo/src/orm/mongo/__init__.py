"""orm's MongoDB driver (PyMongo's async API). Selected by ``mongodb://host:port/database``."""

from orm.mongo.connection import MongoConnection
from orm.mongo.driver import MONGO_KEY_POLICY, MongoDriver

__all__ = ["MONGO_KEY_POLICY", "MongoConnection", "MongoDriver"]
