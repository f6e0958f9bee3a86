"""Migration 20261207234541_initial, created 2026-12-07 23:45:41 UTC.

- create table tag
- create table user
- create table article
- create table user_following
- create table article_tags
- create table comment
- create table user_favorites

DATA LOSS when running down():
- drops table tag and all its rows
- drops table user and all its rows
- drops table article and all its rows
- drops table user_following and all its rows
- drops table article_tags and all its rows
- drops table comment and all its rows
- drops table user_favorites and all its rows
"""

from orm.migrations import Migration


class Migration20261207234541(Migration):
    dialect = "postgresql"

    def up(self) -> None:
        self.add_sql("""CREATE TABLE tag (
    id SERIAL NOT NULL,
    name VARCHAR(100) NOT NULL,
    CONSTRAINT pk_tag PRIMARY KEY (id),
    CONSTRAINT uq_tag_name UNIQUE (name)
)""")
        self.add_sql("""CREATE TABLE "user" (
    id SERIAL NOT NULL,
    username VARCHAR(100) NOT NULL,
    email VARCHAR(255) NOT NULL,
    password_hash VARCHAR(200) NOT NULL,
    bio TEXT,
    image VARCHAR(1000),
    CONSTRAINT pk_user PRIMARY KEY (id),
    CONSTRAINT uq_user_email UNIQUE (email),
    CONSTRAINT uq_user_username UNIQUE (username)
)""")
        self.add_sql("""CREATE TABLE article (
    id SERIAL NOT NULL,
    slug VARCHAR(300) NOT NULL,
    title VARCHAR(255) NOT NULL,
    description VARCHAR(1000) NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    author_id INTEGER NOT NULL,
    CONSTRAINT pk_article PRIMARY KEY (id),
    CONSTRAINT fk_article_author_id FOREIGN KEY(author_id) REFERENCES "user" (id) ON DELETE CASCADE,
    CONSTRAINT uq_article_slug UNIQUE (slug)
)""")
        self.add_sql("CREATE INDEX ix_article_author_id ON article (author_id)")
        self.add_sql("CREATE INDEX ix_article_created_at ON article (created_at)")
        self.add_sql("""CREATE TABLE user_following (
    user_id INTEGER NOT NULL,
    following_id INTEGER NOT NULL,
    CONSTRAINT pk_user_following PRIMARY KEY (user_id, following_id),
    CONSTRAINT fk_user_following_following_id FOREIGN KEY(following_id) REFERENCES "user" (id) ON DELETE CASCADE,
    CONSTRAINT fk_user_following_user_id FOREIGN KEY(user_id) REFERENCES "user" (id) ON DELETE CASCADE
)""")
        self.add_sql("CREATE INDEX ix_user_following_following_id ON user_following (following_id)")
        self.add_sql("""CREATE TABLE article_tags (
    article_id INTEGER NOT NULL,
    tag_id INTEGER NOT NULL,
    CONSTRAINT pk_article_tags PRIMARY KEY (article_id, tag_id),
    CONSTRAINT fk_article_tags_article_id FOREIGN KEY(article_id) REFERENCES article (id) ON DELETE CASCADE,
    CONSTRAINT fk_article_tags_tag_id FOREIGN KEY(tag_id) REFERENCES tag (id) ON DELETE CASCADE
)""")
        self.add_sql("CREATE INDEX ix_article_tags_tag_id ON article_tags (tag_id)")
        self.add_sql("""CREATE TABLE comment (
    id SERIAL NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    article_id INTEGER NOT NULL,
    author_id INTEGER NOT NULL,
    CONSTRAINT pk_comment PRIMARY KEY (id),
    CONSTRAINT fk_comment_author_id FOREIGN KEY(author_id) REFERENCES "user" (id) ON DELETE CASCADE,
    CONSTRAINT fk_comment_article_id FOREIGN KEY(article_id) REFERENCES article (id) ON DELETE CASCADE
)""")
        self.add_sql("CREATE INDEX ix_comment_article_id ON comment (article_id)")
        self.add_sql("CREATE INDEX ix_comment_author_id ON comment (author_id)")
        self.add_sql("""CREATE TABLE user_favorites (
    user_id INTEGER NOT NULL,
    article_id INTEGER NOT NULL,
    CONSTRAINT pk_user_favorites PRIMARY KEY (user_id, article_id),
    CONSTRAINT fk_user_favorites_article_id FOREIGN KEY(article_id) REFERENCES article (id) ON DELETE CASCADE,
    CONSTRAINT fk_user_favorites_user_id FOREIGN KEY(user_id) REFERENCES "user" (id) ON DELETE CASCADE
)""")
        self.add_sql("CREATE INDEX ix_user_favorites_article_id ON user_favorites (article_id)")

    def down(self) -> None:
        # DATA LOSS: drops table user_favorites and all its rows
        self.add_sql("DROP TABLE user_favorites")
        # DATA LOSS: drops table comment and all its rows
        self.add_sql("DROP TABLE comment")
        # DATA LOSS: drops table article_tags and all its rows
        self.add_sql("DROP TABLE article_tags")
        # DATA LOSS: drops table user_following and all its rows
        self.add_sql("DROP TABLE user_following")
        # DATA LOSS: drops table article and all its rows
        self.add_sql("DROP TABLE article")
        # DATA LOSS: drops table user and all its rows
        self.add_sql('DROP TABLE "user"')
        # DATA LOSS: drops table tag and all its rows
        self.add_sql("DROP TABLE tag")
