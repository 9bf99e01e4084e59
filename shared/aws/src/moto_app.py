# moto's server for the tests: single-threaded (moto's threaded server makes conditional
# writes non-atomic), with four fixes to moto 5.2.x's speed. None changes what moto answers.
#
# 1. EventBridge: every PutEvents renders each matched target's input through jsonpath_ng,
#    which builds a new LALR parser (ply yacc tables) for every path it parses: ~400 ms of CPU
#    per PutEvents, 75 % of moto's time in the latency bench. Parsed paths are now cached
#    (jsonpath expressions are immutable once parsed).
#
# 2. DynamoDB: moto snapshots for rollback by deep-copying the WHOLE table once per item of every
# transaction (models/__init__.py, `transact_write_items`), so a transaction costs time
# and memory in proportion to the table: under a few thousand transactions the server grew
# to 9 GB and each call took seconds. Here a transaction snapshots only the items it
# touches and restores exactly those when moto cancels it; conditions, errors and results
# are moto's own. `shared/aws/tests/moto_transactions.rs` checks the rollback.
#
# 3. DynamoDB: a Query on the table (not an index) walked and sorted every item of the table
#    to find one partition; it now sees only the partition it names, as DynamoDB does.
#
# 4. Every request listed moto's package directory and stat-ed each entry to route the
#    request (`backends.list_of_moto_modules`, ~1.5 ms per request); the list is now read once.
#
# 5. DynamoDB: a Query on a global secondary index walked every item of the table, sorted by
#    the table's key with moto's slow DynamoType comparisons, to find one index partition (65 %
#    of moto's time in the correctness bench: reconcile pages 49 index partitions per run).
#    Each table now keeps its index partitions (index hash value -> items), rebuilt on the
#    first index Query after any write; the Query is shown only that partition, and moto
#    checks, sorts, pages and projects it as before.
#
# 6. DynamoDB: moto serializes every response by walking the service model, member by member,
#    down to each attribute of each item (~85 % of a Query's time for a partition of a few
#    dozen items). An attribute value moto holds is already in DynamoDB's wire form
#    ({"S": "..."}, {"M": {...}}, ...), which is what that walk produces for it, so it is now
#    copied as it is; binary values ("B", "BS"), which the walk base64-encodes, still take it.
#
# And one route that is not AWS, for the local stack's pumps (tests/local-stack/src/pumps.rs),
# so they wait for work instead of polling every queue and listing every schedule:
#   GET /_local-stack/work?group=G[&until=YYYY-MM-DDTHH:MM:SS][&region=R]
#   -> {"queues": {queue name: visible messages},
#       "schedules": [{"name", "at", "input"}, ...]}
# `schedules` holds the `at()` schedules of group G due at or before `until`, earliest first,
# or without `until` those at the earliest instant of all. Read-only; moto's state as it is.
#
# Usage: python3 moto_app.py <port>   (MOTO_PROFILE=<file>: a cProfile of the server on SIGTERM)
import copy
import functools
import inspect
import json
import os
import sys

import jsonpath_ng.ext

from moto import backends
from moto.dynamodb import models as ddb
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.core.serialize import BaseJSONSerializer
from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app


class _CopyWithoutTables:
    """`copy` for moto's DynamoDB models: a Table "copies" to itself (its rollback is done
    item by item below); everything else is copied as before."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(x, memo=None):
        if isinstance(x, Table):
            return x
        return copy.deepcopy(x, memo)


_transact_write_items = ddb.DynamoDBBackend.transact_write_items


def _touched(backend, transact_items):
    """(table, hash, range, deep copy of the item or None) for each item a transaction names."""
    saved = []
    for entry in transact_items:
        if not isinstance(entry, dict) or len(entry) != 1:
            continue
        op_type, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
        if table is None:
            continue
        key = op.get("Item") if op_type == "Put" else op.get("Key")
        if not isinstance(key, dict) or table.hash_key_attr not in key:
            continue
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in key:
                continue
            range_value = DynamoType(key[table.range_key_attr])
        try:
            current = table.get_item(hash_value, range_value)
        except Exception:  # a malformed key: moto's own code reports it
            continue
        saved.append((table, hash_value, range_value, copy.deepcopy(current)))
    return saved


def _restore(saved):
    # Reversed, so an item named twice ends as it was before the first.
    for table, hash_value, range_value, item in reversed(saved):
        if range_value is None:
            if item is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = item
        else:
            if item is None:
                table.items.get(hash_value, {}).pop(range_value, None)
            else:
                table.items[hash_value][range_value] = item


def transact_write_items(self, transact_items):
    saved = _touched(self, transact_items)
    try:
        return _transact_write_items(self, transact_items)
    except BaseException:
        _restore(saved)
        raise


_query = Table.query


def query(self, hash_key, range_comparison, range_objs, limit, exclusive_start_key,
          scan_index_forward, projection_expressions, index_name=None, *args, **kwargs):
    """Table.query with the table's own key: moto filters `self.all_items()` by hash key, so
    for the call it is shown the one partition (the server is single-threaded)."""
    call = (hash_key, range_comparison, range_objs, limit, exclusive_start_key,
            scan_index_forward, projection_expressions, index_name, *args)
    if index_name:
        only = _index_partition(self, index_name, kwargs.get("hash_key_conditions"))
        if only is None:
            return _query(self, *call, **kwargs)
    elif hash_key is None:
        return _query(self, *call, **kwargs)
    else:
        only = _table_partition(self, hash_key)
    self.all_items = lambda: only
    try:
        return _query(self, *call, **kwargs)
    finally:
        del self.all_items


def _table_partition(self, hash_key):
    partition = self.items.get(hash_key)
    if self.range_key_attr:
        return list(partition.values()) if partition else []
    return [partition] if partition is not None else []


# Bumped by every DynamoDB call that may write (anything but the reads below), before and
# after it runs: an index partition built at another generation is stale.
_generation = [0]
_READS = ("get_", "describe_", "list_", "query", "scan", "batch_get_item", "transact_get_items")


def _writes(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        _generation[0] += 1
        try:
            return method(*args, **kwargs)
        finally:
            _generation[0] += 1

    return wrapper


def _index_partition(table, index_name, hash_conditions):
    """The items of one partition of a single-hash-key index, or None when the query is not
    of that shape (moto then walks the table as before)."""
    index = next((i for i in table.all_indexes() if i.name == index_name), None)
    if index is None:
        return None
    hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
    if len(hashes) != 1 or len(hash_conditions or []) != 1:
        return None
    attr, value = hash_conditions[0]
    if attr != hashes[0]:
        return None
    cache = table.__dict__.get("_index_partitions")
    if cache is None or cache[0] != _generation[0]:
        cache = (_generation[0], {})
        table.__dict__["_index_partitions"] = cache
    parts = cache[1].get(index_name)
    if parts is None:
        parts = {}
        for hash_set in table.items.values():
            for item in hash_set.values() if table.range_key_attr else [hash_set]:
                v = item.attrs.get(attr)
                if v is not None:
                    parts.setdefault(v, []).append(item)
        cache[1][index_name] = parts
    if not isinstance(value, DynamoType):
        value = DynamoType(value)
    return list(parts.get(value, ()))


_WIRE_LEAVES = frozenset(("S", "N", "BOOL", "NULL", "SS", "NS"))


def _wire_form(value):
    """Whether a DynamoDB attribute value is in wire form without binary parts."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    (kind, inner), = value.items()
    if kind in _WIRE_LEAVES:
        return True
    if kind == "L":
        return isinstance(inner, list) and all(_wire_form(v) for v in inner)
    if kind == "M":
        return isinstance(inner, dict) and all(_wire_form(v) for v in inner.values())
    return False


_serialize_structure = BaseJSONSerializer._serialize_type_structure


def _serialize_type_structure(self, serialized, value, shape, key):
    if key and shape.name == "AttributeValue" and _wire_form(value):
        self._default_serialize(serialized, value, shape, key)
        return
    _serialize_structure(self, serialized, value, shape, key)


_modules = tuple(backends.list_of_moto_modules())

ddb.copy = _CopyWithoutTables()
BaseJSONSerializer._serialize_type_structure = _serialize_type_structure
Table.query = query
backends.list_of_moto_modules = lambda: _modules
ddb.DynamoDBBackend.transact_write_items = transact_write_items
# After every other patch of the backend, so the transaction fix is counted as a write too.
for _name, _method in list(vars(ddb.DynamoDBBackend).items()):
    if inspect.isfunction(_method) and not _name.startswith(("_",) + _READS):
        setattr(ddb.DynamoDBBackend, _name, _writes(_method))
# moto.events.utils imports `parse` from this module at each call, so the cache is seen.
jsonpath_ng.ext.parse = functools.lru_cache(maxsize=1024)(jsonpath_ng.ext.parse)


def _work(environ, start_response):
    """GET /_local-stack/work (see the top of this file)."""
    from urllib.parse import parse_qs

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.scheduler.models import scheduler_backends
    from moto.sqs.models import sqs_backends

    query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    region = query.get("region", "us-east-1")
    queues = {
        name: len(queue.messages)
        for name, queue in sqs_backends[DEFAULT_ACCOUNT_ID][region].queues.items()
    }
    group = scheduler_backends[DEFAULT_ACCOUNT_ID][region].schedule_groups.get(
        query.get("group", "default")
    )
    at = []
    for schedule in (group.schedules.values() if group else ()):
        expression = schedule.schedule_expression or ""
        # The instants are UTC and all of one format, so they sort as strings.
        if expression.startswith("at(") and expression.endswith(")"):
            at.append((expression[3:-1], schedule))
    at.sort(key=lambda p: (p[0], p[1].name))
    until = query.get("until") or (at[0][0] if at else "")
    schedules = [
        {"name": s.name, "at": when, "input": (s.target or {}).get("Input")}
        for when, s in at
        if when <= until
    ]
    body = json.dumps({"queues": queues, "schedules": schedules}).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]


def _serve():
    moto_app = DomainDispatcherApplication(create_backend_app)

    def app(environ, start_response):
        if environ.get("PATH_INFO") == "/_local-stack/work":
            return _work(environ, start_response)
        return moto_app(environ, start_response)

    run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=False)


if __name__ == "__main__":
    # MOTO_PROFILE=<file>: write a cProfile of the server to <file> when it is stopped.
    if os.environ.get("MOTO_PROFILE"):
        import cProfile
        import signal

        profile = cProfile.Profile()

        def _stop(*_):
            profile.disable()
            profile.dump_stats(os.environ["MOTO_PROFILE"])
            sys.exit(0)

        signal.signal(signal.SIGTERM, _stop)
        profile.enable()
    _serve()
