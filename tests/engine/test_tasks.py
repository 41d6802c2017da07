"""Which statements of a plain dump run side by side, and what each waits for (restore/tasks)."""

from __future__ import annotations

from pytest_liftbackup.dump.sql_script import CopyBlock, Statement
from pytest_liftbackup.restore.tasks import Task, TaskOrder, task_for


def task(sql: str, copy: bool = False) -> Task:
    statement = Statement(sql.encode(), 1, None)
    found = task_for(statement, CopyBlock(statement, 0) if copy else None)
    assert found is not None, sql
    return found


def test_a_comment_on_an_index_waits_for_that_index_only() -> None:
    order = TaskOrder()
    rows = task("COPY s.t (id) FROM stdin;", copy=True)
    other = task("CREATE INDEX other ON s.t USING btree (id);")
    index = task('CREATE INDEX "Odd.Index" ON s.t USING btree (id);')
    comment = task("COMMENT ON INDEX s.\"Odd.Index\" IS 'x';")
    for each in (rows, other, index):
        order.link(each)
    assert order.knows(comment)
    order.link(comment)
    assert comment.waits_for == 1 and comment in index.followers and comment not in other.followers


def test_a_comment_on_an_index_not_made_since_the_last_barrier_is_a_barrier() -> None:
    order = TaskOrder()
    order.link(task("CREATE INDEX i ON s.t USING btree (id);"))
    assert not order.knows(task("COMMENT ON INDEX s.j IS 'x';"))
    assert not order.knows(task("COMMENT ON INDEX i IS 'x';"))  # another spelling: not guessed at
    order.clear()
    assert not order.knows(task("COMMENT ON INDEX s.i IS 'x';"))


def test_a_trigger_waits_for_every_copy_before_it_of_any_table() -> None:
    """A trigger on a partitioned table is made on its partitions too: it must not exist while any
    COPY, also one into a partition by its own name, is still loading rows."""
    order = TaskOrder()
    partition = task("COPY public.measurement_2026 (id) FROM stdin;", copy=True)
    parent_index = task("CREATE INDEX m_idx ON public.measurement USING btree (id);")
    trigger = task(
        'CREATE TRIGGER "Loud" BEFORE INSERT OR UPDATE OF note ON public.measurement FOR EACH ROW EXECUTE FUNCTION public.shout();'
    )
    comment = task("COMMENT ON TRIGGER \"Loud\" ON public.measurement IS 'x';")
    for each in (partition, parent_index, trigger):
        order.link(each)
    assert trigger.waits_for == 2 and trigger in partition.followers and trigger in parent_index.followers
    assert order.knows(comment)
    order.link(comment)
    assert comment.waits_for == 1 and comment in trigger.followers


def test_a_constraint_trigger_is_a_barrier() -> None:
    statement = Statement(
        b"CREATE CONSTRAINT TRIGGER c AFTER INSERT ON s.t FROM s.u FOR EACH ROW EXECUTE FUNCTION s.f();",
        1,
        None,
    )
    assert task_for(statement) is None
