"""A connection cut at every statement of a multi-table flush: nothing written, nothing lost.

For each statement k of the flush (BEGIN, the writes, COMMIT) the proxy cuts the connection
instead of passing statement k on. The flush must fail with ``orm.core.errors.ConnectionError``
and leave no partial write, the fork must keep every pending change (a second flush after the
network heals writes exactly the intended data) and the pool must replace the broken connection.

Two cases differ: BEGIN is the first statement of its checkout and changes nothing, so the
driver sends it again on a new connection and the flush succeeds; a cut at COMMIT leaves the
outcome unknown to the client (see test_a_cut_at_commit_reports_an_unknown_outcome).
"""

from __future__ import annotations

import pytest

from orm.core.errors import ConnectionError
from tests.compliance.models import Author

from .checks import ROUNDS, check_pool, reference_run, settled
from .conftest import FaultRig, Figures
from .scenario import fingerprint, partial_writes, seed, stage, stored


async def test_a_cut_at_each_statement_of_a_flush(rig: FaultRig, figures: Figures) -> None:
    before, expected, statements, _ = await reference_run(rig)
    assert statements >= 7, "BEGIN, at least five writes and COMMIT"
    # COMMIT (the last statement) has a test of its own.
    for k in [k for _ in range(ROUNDS) for k in range(1, statements)]:
        await seed(rig.proxied)
        em = rig.proxied.em.fork()
        entities = await stage(em)
        pending = fingerprint(entities)
        rig.proxy.cut_at_statement(k)
        cuts = rig.proxy.cuts
        if k == 1:
            # BEGIN changes nothing: the driver sends it again on a new connection.
            await em.flush()
            figures.add("connections_cut", rig.proxy.cuts - cuts)
            assert await stored(rig.direct) == expected
            await check_pool(rig, figures)
            continue
        with pytest.raises(ConnectionError) as info:
            await em.flush()
        figures.add("connections_cut", rig.proxy.cuts - cuts)
        assert rig.proxy.cuts == cuts + 1, f"statement {k} was not cut"
        assert "retry" in str(info.value)
        after = await stored(rig.direct)
        figures.add("partial_writes", partial_writes(before, after, expected))
        assert after == before, f"a cut at statement {k} left writes behind"
        assert fingerprint(entities) == pending, f"a cut at statement {k} changed the fork"
        await check_pool(rig, figures, used=False)
        rig.proxy.reset()  # the network heals: the same fork flushes again
        await em.flush()
        assert await stored(rig.direct) == expected
        await check_pool(rig, figures)


async def test_a_cut_inside_a_message_after_n_bytes(rig: FaultRig, figures: Figures) -> None:
    """The server receives part of a message (the cut falls at arbitrary byte offsets)."""
    await reference_run(rig)  # the second run's bytes: prepared statements are cached by then
    before, expected, _, total = await reference_run(rig)
    for offset in range(total // 10, total, total // 10):
        await seed(rig.proxied)
        em = rig.proxied.em.fork()
        entities = await stage(em)
        pending = fingerprint(entities)
        cuts = rig.proxy.cuts
        rig.proxy.reset()
        rig.proxy.cut_after_bytes(offset, connections=rig.proxy.live_connections)
        upstream_closed = rig.proxy.upstream_closed
        try:
            await em.flush()
        except ConnectionError:
            # Read once the server hung up: done with the session (and a COMMIT it got).
            assert await settled(lambda seen=upstream_closed: rig.proxy.upstream_closed > seen)
            after = await stored(rig.direct)
            figures.add("partial_writes", partial_writes(before, after, expected))
            # A cut while COMMIT is on its way may or may not have committed (never in part).
            assert after in (before, expected), f"a cut after {offset} bytes left a partial write"
            assert fingerprint(entities) == pending
            await check_pool(rig, figures, used=False)
            if after == before:
                rig.proxy.reset()
                await em.flush()
        else:  # the cut fell in BEGIN, which was sent again on a new connection
            assert rig.proxy.statements[0].text.upper().startswith(("BEGIN", "START"))
        figures.add("connections_cut", rig.proxy.cuts - cuts)
        assert rig.proxy.cuts == cuts + 1
        assert await stored(rig.direct) == expected
        await check_pool(rig, figures)


@pytest.mark.parametrize("forward", [False, True], ids=["before-commit", "after-commit"])
async def test_a_cut_at_commit_reports_an_unknown_outcome(
    rig: FaultRig, figures: Figures, forward: bool
) -> None:
    """Cut before COMMIT reaches the server (it rolls back) or just after (it commits): the
    client cannot tell which. orm says the outcome is unknown and keeps the changes pending;
    the database holds all of the flush or none of it."""
    before, expected, statements, _ = await reference_run(rig)
    await seed(rig.proxied)
    em = rig.proxied.em.fork()
    entities = await stage(em)
    pending = fingerprint(entities)
    rig.proxy.cut_at_statement(statements, forward=forward)
    upstream_closed = rig.proxy.upstream_closed
    with pytest.raises(ConnectionError, match="unknown") as info:
        await em.flush()
    figures.add("connections_cut")
    # The server is done with the session (and with COMMIT, if it got it) once it hangs up.
    assert await settled(lambda: rig.proxy.upstream_closed > upstream_closed)
    assert "COMMIT" in str(info.value)
    assert fingerprint(entities) == pending  # what orm reports: not committed, still pending
    after = await stored(rig.direct)
    figures.add("partial_writes", partial_writes(before, after, expected))
    assert after in (before, expected)
    figures.add("commits_applied_unknown_to_client" if after == expected else "commits_lost")
    if not forward:
        assert after == before  # the server never saw COMMIT
    await check_pool(rig, figures, used=False)
    rig.proxy.reset()
    if after == before:  # not committed after all: flushing the pending changes again works
        await em.flush()
        assert await stored(rig.direct) == expected
    assert await rig.proxied.em.fork().count(Author) == 2
    await check_pool(rig, figures)
