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
# Usage: python3 moto_app.py <port>   (MOTO_PROFILE=<file>: a cProfile of the server on SIGTERM)
import copy
import functools
import os
import sys

import jsonpath_ng.ext

from moto import backends
from moto.dynamodb import models as ddb
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
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
    if index_name or hash_key is None:
        return _query(self, *call, **kwargs)
    partition = self.items.get(hash_key)
    if self.range_key_attr:
        only = list(partition.values()) if partition else []
    else:
        only = [partition] if partition is not None else []
    self.all_items = lambda: only
    try:
        return _query(self, *call, **kwargs)
    finally:
        del self.all_items


_modules = tuple(backends.list_of_moto_modules())

ddb.copy = _CopyWithoutTables()
Table.query = query
backends.list_of_moto_modules = lambda: _modules
ddb.DynamoDBBackend.transact_write_items = transact_write_items
# moto.events.utils imports `parse` from this module at each call, so the cache is seen.
jsonpath_ng.ext.parse = functools.lru_cache(maxsize=1024)(jsonpath_ng.ext.parse)


def _serve():
    run_simple(
        "127.0.0.1",
        int(sys.argv[1]),
        DomainDispatcherApplication(create_backend_app),
        threaded=False,
    )


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
