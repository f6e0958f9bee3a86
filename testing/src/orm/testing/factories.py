"""Factories: entities (and graphs of them) with generated values, for tests and seeders.

::

    class AuthorFactory(Factory[Author]):
        traits = {"retired": {"active": False}}

        def definition(self) -> dict[str, Any]:
            return {"name": self.faker.name(), "email": f"author{self.sequence}@example.com"}


    class BookFactory(Factory[Book]):
        def definition(self) -> dict[str, Any]:
            return {"title": self.faker.sentence(), "author": AuthorFactory}


    book = BookFactory().make(title="x")  # built, not persisted; defaults already applied
    books = await BookFactory().create_many(em, 3)  # 3 books, 3 authors: one flush

See docs/testing.md#factories.
"""

from __future__ import annotations

import copy
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Self, TypeVar

from orm.core import EntityManager, RelationKind
from orm.core.errors import ConfigurationError
from orm.core.state import meta_of

if TYPE_CHECKING:
    from faker import Faker

T = TypeVar("T")

# The last sequence number given by each factory class (the next build gets one more).
_last_numbers: dict[type[Any], int] = {}
# One Faker per locale, shared by every factory: seeding it (Faker.seed) seeds them all.
_fakers: dict[str | None, Faker] = {}

FAKER_INSTALL = "pip install 'orm-testing[faker]'"


class Sequence:
    """A value made from the factory's sequence number (1, 2, 3... per factory class).

    ``{"email": Sequence(lambda n: f"user{n}@example.com")}`` in a definition, a trait or an
    override; ``self.sequence`` in ``definition()`` is the same number.
    """

    __slots__ = ("make",)

    def __init__(self, make: Callable[[int], Any]) -> None:
        self.make = make

    def __repr__(self) -> str:
        return f"Sequence({self.make!r})"


def shared_faker(locale: str | None = None) -> Faker:
    """The Faker of ``locale`` (None: Faker's default), made on first use."""
    faker = _fakers.get(locale)
    if faker is None:
        try:
            from faker import Faker
        except ImportError:
            raise ConfigurationError(
                f"factories' faker needs the faker package, which is not installed: "
                f"{FAKER_INSTALL} (or pip install faker)"
            ) from None
        faker = _fakers[locale] = Faker(locale)
    return faker


@dataclass(frozen=True)
class Related:
    """``with_related``: ``count`` entities of ``factory`` put in the collection ``name``."""

    name: str
    factory: Factory[Any]
    count: int


@dataclass(frozen=True)
class Setup:
    """What a factory instance adds to its definition: overrides, traits, related collections."""

    overrides: Mapping[str, Any] = field(default_factory=dict)
    traits: tuple[str, ...] = ()
    related: tuple[Related, ...] = ()


class Factory(Generic[T]):
    """Builds entities of ``model``: subclass ``Factory[Author]`` and write ``definition()``.

    An instance holds overrides, traits and related collections; ``state``, ``trait`` and
    ``with_related`` return a changed copy, so one factory can be the base of several.
    Values (in ``definition()``, traits and overrides) may be a factory class or instance (an
    entity built by it, persisted with this one) or a :class:`Sequence`.
    """

    model: ClassVar[type[Any]]
    # Named partial overrides: traits = {"retired": {"active": False}}; trait("retired").
    traits: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    # The Faker locale of self.faker (None: Faker's default).
    faker_locale: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "model" in cls.__dict__:
            return
        for base in cls.__dict__.get("__orig_bases__", ()):
            origin = typing.get_origin(base)
            arguments = typing.get_args(base)
            if (
                isinstance(origin, type)
                and issubclass(origin, Factory)
                and arguments
                and isinstance(arguments[0], type)
                and arguments[0] is not Any  # a class since Python 3.11, not an entity
            ):
                cls.model = arguments[0]
                return

    def __init__(self, **overrides: Any) -> None:
        if not isinstance(getattr(type(self), "model", None), type):
            name = type(self).__name__
            raise ConfigurationError(
                f"{name} does not say which entity it builds: declare it as "
                f"class {name}(Factory[Author]) with the entity class itself (not a string), or "
                f"set model = Author in its body"
            )
        self.setup = Setup(overrides=dict(overrides))
        self._number: int | None = None

    # -- what subclasses write -------------------------------------------------------------

    def definition(self) -> dict[str, Any]:
        """The values of a new entity, before traits and overrides (called once per entity)."""
        return {}

    def instantiate(self, values: dict[str, Any]) -> T:
        """The new entity from its values: the entity's constructor, so its defaults apply.

        Override it for an entity whose own ``__init__`` takes other arguments.
        """
        entity: T = self.model(**values)
        return entity

    # -- helpers for definition() ----------------------------------------------------------

    @property
    def sequence(self) -> int:
        """The number of the entity being built: 1, 2, 3... per factory class."""
        if self._number is None:
            raise ConfigurationError(
                f"{type(self).__name__}.sequence is only set while an entity is built: read it "
                f"in definition(), or use Sequence(lambda n: ...) as a value"
            )
        return self._number

    @property
    def faker(self) -> Faker:
        """A shared Faker (the optional extra: pip install 'orm-testing[faker]')."""
        return shared_faker(self.faker_locale)

    @classmethod
    def reset_sequence(cls) -> None:
        """Start this factory's sequence at 1 again."""
        _last_numbers.pop(cls, None)

    # -- configured copies -----------------------------------------------------------------

    def _changed(self, setup: Setup) -> Self:
        changed = copy.copy(self)
        changed.setup = setup
        return changed

    def state(self, **overrides: Any) -> Self:
        """A copy with more overrides (later ones win)."""
        return self._changed(replace(self.setup, overrides={**self.setup.overrides, **overrides}))

    def trait(self, *names: str) -> Self:
        """A copy applying the named traits (in order, after the definition)."""
        for name in names:
            if name not in self.traits:
                known = ", ".join(sorted(self.traits)) or "none"
                raise ConfigurationError(
                    f"{type(self).__name__} has no trait {name!r} (its traits: {known}); "
                    f"declare it in {type(self).__name__}.traits"
                )
        return self._changed(replace(self.setup, traits=(*self.setup.traits, *names)))

    def with_related(
        self, name: str, factory: Factory[Any] | type[Factory[Any]], count: int = 1
    ) -> Self:
        """A copy that also builds ``count`` entities of ``factory`` into the collection ``name``.

        For a OneToMany the children's ManyToOne is set to the new entity (their factory's own
        value for it is not built); for a ManyToMany they are added to the collection.
        """
        if count < 0:
            raise ConfigurationError(
                f"{type(self).__name__}.with_related({name!r}, ...) got count={count}; "
                f"pass 0 or more"
            )
        related = Related(name, factory() if isinstance(factory, type) else factory, count)
        return self._changed(replace(self.setup, related=(*self.setup.related, related)))

    # -- building --------------------------------------------------------------------------

    def make(self, **overrides: Any) -> T:
        """A new entity (and the related ones it needs), not persisted."""
        return self.build([], **overrides)

    def make_many(self, count: int, **overrides: Any) -> list[T]:
        """``count`` new entities, not persisted."""
        graph: list[object] = []
        return [self.build(graph, **overrides) for _ in range(count)]

    async def create(self, em: EntityManager, **overrides: Any) -> T:
        """A new entity persisted with every entity built for it, in one flush."""
        graph: list[object] = []
        entity = self.build(graph, **overrides)
        em.persist(graph)
        await em.flush()
        return entity

    async def create_many(self, em: EntityManager, count: int, **overrides: Any) -> list[T]:
        """``count`` new entities persisted with their related ones, in one flush."""
        graph: list[object] = []
        entities = [self.build(graph, **overrides) for _ in range(count)]
        em.persist(graph)
        await em.flush()
        return entities

    def build(self, graph: list[object], **overrides: Any) -> T:
        """Build one entity; it and every entity built for it are appended to ``graph``."""
        previous = self._number
        number = _last_numbers.get(type(self), 0) + 1
        _last_numbers[type(self)] = number
        self._number = number
        try:
            values = dict(self.definition())
            for trait in self.setup.traits:
                values.update(self.traits[trait])
            values.update(self.setup.overrides)
            values.update(overrides)
            resolved = {key: self._resolve(value, number, graph) for key, value in values.items()}
            try:
                entity = self.instantiate(resolved)
            except TypeError as exc:
                raise ConfigurationError(
                    f"{type(self).__name__} cannot build a {self.model.__name__}: {exc}. Check "
                    f"the names in its definition(), traits and overrides"
                ) from exc
            graph.append(entity)
            for related in self.setup.related:
                self._build_related(entity, related, graph)
            return entity
        finally:
            self._number = previous

    @staticmethod
    def _resolve(value: Any, number: int, graph: list[object]) -> Any:
        if isinstance(value, type) and issubclass(value, Factory):
            return value().build(graph)
        if isinstance(value, Factory):
            return value.build(graph)
        if isinstance(value, Sequence):
            return value.make(number)
        return value

    def _build_related(self, entity: T, related: Related, graph: list[object]) -> None:
        prop = meta_of(entity).properties.get(related.name)
        if prop is None or not prop.is_collection:
            raise ConfigurationError(
                f"{type(self).__name__}.with_related({related.name!r}, ...): "
                f"{self.model.__name__}.{related.name} is not a OneToMany or ManyToMany "
                f"collection; name one of the entity's collections"
            )
        collection = getattr(entity, related.name)
        for _ in range(related.count):
            if prop.relation is RelationKind.ONE_TO_MANY and prop.mapped_by is not None:
                # Built with its ManyToOne already pointing here: no extra parent is built.
                related.factory.build(graph, **{prop.mapped_by: entity})
            else:
                collection.add(related.factory.build(graph))
