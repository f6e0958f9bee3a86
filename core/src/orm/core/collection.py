"""``Collection``: the value of a OneToMany or ManyToMany attribute."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from orm.core.errors import EntityStateError, NotLoadedError
from orm.core.metadata.model import RelationKind
from orm.core.state import STATE_KEY, EntityState, Status, meta_of

if TYPE_CHECKING:
    from orm.core.loading.loader import Loader
    from orm.core.metadata.model import PropertyMetadata

T = TypeVar("T")


class Collection(Generic[T]):
    """The entities on the "many" side of a relation, owned by one entity.

    A collection of an entity loaded from the database starts *not loaded*: ``await load()``
    (or ``populate=[...]`` on the query) fills it; iterating or taking ``len()`` before that
    raises :class:`NotLoadedError`. ``add``/``remove`` work either way and keep the other side
    of a bidirectional relation in sync. Changes are written by the next ``flush``.
    """

    __slots__ = ("_added", "_ids", "_items", "_name", "_owner", "_removed", "_view")

    def __init__(self, owner: object, name: str, *, initialized: bool) -> None:
        self._owner = owner
        self._name = name
        self._items: list[T] | None = [] if initialized else None
        self._ids: set[int] = set()
        # Changes since the last flush: pivot rows to write, orphans to remove.
        self._added: list[T] = []
        self._removed: list[T] = []
        # None: every item, in the relation's order. Otherwise the (filter, order) it was
        # loaded with by populate_where/populate_order_by (see loading.populate.load_signature).
        self._view: Any = None

    # -- introspection ---------------------------------------------------------------------

    @property
    def owner(self) -> object:
        return self._owner

    @property
    def property_metadata(self) -> PropertyMetadata:
        return meta_of(self._owner).properties[self._name]

    @property
    def initialized(self) -> bool:
        """True once the items are known (loaded, or the owner is new)."""
        return self._items is not None

    @property
    def is_filtered(self) -> bool:
        """True when ``populate_where`` loaded only some of the items: ``set()`` and
        ``remove_all()`` then refuse, and ``load()`` reads every item again."""
        return self._view is not None and self._view[0] is not None

    @property
    def view(self) -> Any:
        """How the items were loaded: None for every item in the relation's order, else the
        (filter, order) signature of ``populate_where``/``populate_order_by``."""
        return self._view

    @property
    def is_dirty(self) -> bool:
        return bool(self._added or self._removed)

    def _loaded_items(self, action: str) -> list[T]:
        if self._items is None:
            owner = type(self._owner).__name__
            raise NotLoadedError(
                f"{owner}.{self._name} is not loaded, so it cannot {action}. Call "
                f"`await {owner.lower()}.{self._name}.load()` first, or pass "
                f"populate=[{self._name!r}] to the query that loaded the {owner}"
            )
        return self._items

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._loaded_items("be iterated")))

    def __len__(self) -> int:
        return len(self._loaded_items("be counted with len()"))

    def __bool__(self) -> bool:
        return bool(self._loaded_items("be tested for truth"))

    def __contains__(self, item: object) -> bool:
        self._loaded_items("be searched")
        return id(item) in self._ids

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        return self._loaded_items("be indexed")[index]

    def get_items(self) -> list[T]:
        """A list copy of the loaded items."""
        return list(self._loaded_items("return its items"))

    def __repr__(self) -> str:
        owner = type(self._owner).__name__
        if self._items is None:
            return f"<Collection {owner}.{self._name} (not loaded)>"
        return f"<Collection {owner}.{self._name} {self._items!r}>"

    # -- mutation --------------------------------------------------------------------------

    def add(self, *items: T) -> None:
        """Add entities; sets the inverse ManyToOne, or records the pivot row to insert."""
        prop = self.property_metadata
        for item in items:
            self._check_item(prop, item)
            if prop.relation is RelationKind.ONE_TO_MANY:
                assert prop.mapped_by is not None
                if item.__dict__.get(prop.mapped_by) is self._owner:
                    self.link_inverse(item)
                else:
                    # The ManyToOne descriptor links the item to this collection.
                    setattr(item, prop.mapped_by, self._owner)
            else:
                self._attach_item(item)
                self._many_to_many_change(prop, item, added=True)
        self._touch()

    def remove(self, *items: T) -> None:
        """Remove entities; unsets the inverse ManyToOne, or records the pivot row to delete.

        With ``orphan_removal`` a removed child is deleted at the next flush unless it was added
        to another owner by then.
        """
        prop = self.property_metadata
        for item in items:
            self._check_item(prop, item)
            if prop.relation is RelationKind.ONE_TO_MANY:
                assert prop.mapped_by is not None
                if item.__dict__.get(prop.mapped_by) is self._owner:
                    # The ManyToOne descriptor unlinks the item from this collection.
                    setattr(item, prop.mapped_by, None)
                else:
                    self.unlink_inverse(item)
            else:
                self._detach_item(item)
                self._many_to_many_change(prop, item, added=False)
        self._touch()

    def set(self, items: Iterable[T]) -> None:
        """Replace the items: removes what is not in ``items``, adds what is new."""
        wanted = list(items)
        wanted_ids = {id(i) for i in wanted}
        current = self._loaded_items("be replaced with set(); load it first")
        self._check_complete("set()")
        self.remove(*[i for i in current if id(i) not in wanted_ids])
        self.add(*[i for i in wanted if id(i) not in self._ids])

    def remove_all(self) -> None:
        """Remove every item (the collection must be loaded)."""
        items = self._loaded_items("be emptied; load it first")
        self._check_complete("remove_all()")
        self.remove(*items)

    def _check_complete(self, action: str) -> None:
        if self.is_filtered:
            owner = type(self._owner).__name__
            raise EntityStateError(
                f"{owner}.{self._name} was loaded with populate_where, so it holds only the "
                f"matching items and {action} would leave the others in place. Call "
                f"`await {owner.lower()}.{self._name}.load()` to read every item first"
            )

    # -- loading ---------------------------------------------------------------------------

    async def load(self, *, refresh: bool = False) -> list[T]:
        """Load the items (merged with concurrent loads by the dataloader) and return them.

        A collection that ``populate_where`` filtered is read again, whole."""
        if self._items is not None and not refresh and self._view is None:
            return list(self._items)
        await self._loader("load()").load_collection(self, refresh=refresh)
        return list(self._loaded_items("be loaded"))

    async def load_count(self) -> int:
        """The number of items, counted in the database unless the collection is loaded."""
        if self._items is not None and not self.is_filtered:
            return len(self._items)
        return await self._loader("load_count()").count_collection(self)

    async def matching(
        self,
        *,
        where: Mapping[str, Any] | None = None,
        order_by: Mapping[str, Any] | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[T]:
        """Query this collection's items with a filter, without loading the whole collection."""
        result: list[T] = await self._loader("matching()").matching(
            self, where=where, order_by=order_by, limit=limit, offset=offset
        )
        return result

    # -- the change API of the loader and the unit of work ---------------------------------

    @property
    def added(self) -> tuple[T, ...]:
        """Items added since the last flush (pivot rows to insert, new children to persist)."""
        return tuple(self._added)

    @property
    def removed(self) -> tuple[T, ...]:
        """Items removed since the last flush (pivot rows to delete, orphan candidates)."""
        return tuple(self._removed)

    @property
    def known_items(self) -> tuple[T, ...]:
        """The loaded items, or nothing when the collection is not loaded (never raises)."""
        return tuple(self._items) if self._items is not None else ()

    def fill(self, items: list[T], *, view: Any = None) -> None:
        """Set the loaded items, keeping unflushed additions and removals on top."""
        self._view = view
        removed = {id(i) for i in self._removed}
        merged = [i for i in items if id(i) not in removed]
        ids = {id(i) for i in merged}
        for pending in self._added:
            if id(pending) not in ids:
                merged.append(pending)
                ids.add(id(pending))
        self._items = merged
        self._ids = ids

    def include(self, item: T) -> None:
        """Put ``item`` among the loaded items without recording a change (the other side of
        a relation changed, or a rolled-back removal is undone)."""
        self._attach_item(item)

    def exclude(self, item: T) -> None:
        """Take ``item`` out of the loaded items and the pending additions, recording nothing
        (the item was deleted from the database)."""
        self._detach_item(item)
        self._added[:] = [i for i in self._added if i is not item]

    def discard(self, item: T) -> None:
        """Take ``item`` out of the loaded items, recording nothing (the other side of a
        ManyToMany changed: the owning side records the pivot row)."""
        self._detach_item(item)

    def record_pivot_change(self, item: T, *, added: bool) -> None:
        """On the owning side of a ManyToMany: the pivot row to ``item`` is to be inserted
        (``added``) or deleted by the next flush; an opposite pending change cancels out."""
        if added:
            self._record(self._added, self._removed, item)
        else:
            self._record(self._removed, self._added, item)
        self._touch()

    def link_inverse(self, item: T) -> None:
        """The inverse ManyToOne of ``item`` now points at our owner (called by its
        descriptor): the item joins the loaded items and the change is recorded."""
        self._attach_item(item)
        self._record(self._added, self._removed, item)
        self._touch()

    def unlink_inverse(self, item: T) -> None:
        """The inverse ManyToOne of ``item`` no longer points at our owner (called by its
        descriptor): the item leaves the loaded items and the change is recorded."""
        self._detach_item(item)
        self._record(self._removed, self._added, item)
        self._touch()

    def mark_flushed(self) -> None:
        """The pending changes were written: forget them."""
        self._added.clear()
        self._removed.clear()

    def restore_pending(self, added: tuple[T, ...], removed: tuple[T, ...]) -> None:
        """Make changes that a rolled-back flush wrote pending again, under the changes made
        since (an item added then and removed since cancels out, as ``add``/``remove`` do)."""
        for item in reversed(added):
            self._record_before(self._added, self._removed, item)
        for item in reversed(removed):
            self._record_before(self._removed, self._added, item)
        self._touch()

    @staticmethod
    def _record_before(into: list[Any], later: list[Any], item: Any) -> None:
        for index, existing in enumerate(later):
            if existing is item:
                # Undone by a later change: neither is pending.
                del later[index]
                return
        if not any(existing is item for existing in into):
            into.insert(0, item)

    # -- internals used by descriptors, the loader and the unit of work ----------------------

    def _loader(self, action: str) -> Loader:
        state: EntityState | None = self._owner.__dict__.get(STATE_KEY)
        if state is None or state.uow is None or state.status is Status.NEW:
            raise EntityStateError(
                f"{type(self._owner).__name__}.{self._name}.{action} needs an owner managed by an "
                f"EntityManager; persist and flush the {type(self._owner).__name__} first"
            )
        return state.uow.loader

    def _check_item(self, prop: PropertyMetadata, item: object) -> None:
        assert prop.target is not None
        if not isinstance(item, prop.target.cls):
            raise TypeError(
                f"{prop.path} holds {prop.target.class_name} entities, not {type(item).__name__}"
            )

    def _many_to_many_change(self, prop: PropertyMetadata, item: Any, *, added: bool) -> None:
        inverse = prop.inverse
        if prop.owner:
            owning, other = self, item
        else:
            assert inverse is not None
            owning, other = getattr(item, inverse.name), self._owner
        owning.record_pivot_change(other, added=added)
        if inverse is not None:
            mirror = getattr(item, inverse.name)
            if added:
                mirror.include(self._owner)
            else:
                mirror.discard(self._owner)

    @staticmethod
    def _record(into: list[Any], undo: list[Any], item: Any) -> None:
        for index, existing in enumerate(undo):
            if existing is item:
                del undo[index]
                return
        if not any(existing is item for existing in into):
            into.append(item)

    def _attach_item(self, item: T) -> None:
        if self._items is not None and id(item) not in self._ids:
            self._items.append(item)
            self._ids.add(id(item))

    def _detach_item(self, item: T) -> None:
        if self._items is not None and id(item) in self._ids:
            self._ids.discard(id(item))
            self._items[:] = [i for i in self._items if i is not item]

    def _touch(self) -> None:
        state = self._owner.__dict__.get(STATE_KEY)
        if state is not None and state.uow is not None:
            state.uow.touch(self._owner)
