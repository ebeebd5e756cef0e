"""The official MetaApi SDK's streaming connection, unchanged: connect, wait_synchronized,
then its terminal state and history storage hold what REST says the account holds (a
position, a pending order, every symbol, the deposit and the trade); changes arrive as updates;
an undeploy disconnects it and a redeploy brings it back. Environment: see harness.py.
"""

import asyncio

from harness import DOMAIN, TOKEN, check, deployed_account, eventually, finish, rest
from metaapi_cloud_sdk import MetaApi

# How long a change may take to reach the SDK's terminal state as an update.
UPDATE_S = 2


def inside(connection, acc):
    """What the SDK holds inside, per instance, next to what REST says: printed when an
    update did not arrive (a rare failure seen in CI, not reproduced yet)."""
    state = connection.terminal_state
    hashes = state._terminal_hash_manager
    lines = [f"REST positions: {[p['symbol'] for p in rest(acc + '/positions')]}"]
    for index, s in state._state_by_instance_index.items():
        held = hashes.get_positions_by_hash(s.get("positionsHash")) or {}
        lines.append(f"instance {index}: positions {[p['symbol'] for p in held.values()]}, "
                     f"positionsInitialized {s.get('positionsInitialized')}, "
                     f"ordersInitialized {s.get('ordersInitialized')}, hash {s.get('positionsHash')}")
    lines.append(f"combined hash {state._combined_state.get('positionsHash')}")
    orderer = connection._meta_api_connection._websocket_client._packet_orderer
    lines.append(f"orderer: numbers {orderer._sequence_number_by_instance}, "
                 f"last timestamps {orderer._last_session_start_timestamp}, waiting "
                 f"{ {k: [p['sequenceNumber'] for p in v] for k, v in orderer._packets_by_instance.items()} }")
    return "\n".join(lines)


async def main():
    api = MetaApi(TOKEN, {"domain": DOMAIN, "requestTimeout": 30, "retryOpts": {"retries": 1}})
    account = await deployed_account(api, "stream")
    acc = f"/users/current/accounts/{account.id}"
    rest("/sim/ticks", {"symbol": "EURUSD", "bid": 1.1, "ask": 1.10012})
    bought = rest(f"{acc}/trade", {"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": 0.1})
    check("a market buy over REST", bought.get("stringCode") == "TRADE_RETCODE_DONE", str(bought))
    placed = rest(f"{acc}/trade", {"actionType": "ORDER_TYPE_BUY_LIMIT", "symbol": "EURUSD",
                                   "volume": 0.1, "openPrice": 1.0})
    check("a buy limit over REST", placed.get("stringCode") == "TRADE_RETCODE_DONE", str(placed))

    connection = account.get_streaming_connection()
    await asyncio.wait_for(connection.connect(), 30)
    await asyncio.wait_for(connection.wait_synchronized({"timeoutInSeconds": 60}), 70)
    check("streaming connection synchronized", True)
    instances = {s["instanceIndex"] for s in connection._meta_api_connection._state_by_instance_index.values()}
    check("one replica of a regular account streams (instance 0)",
          [i.split(":")[1] for i in instances] == ["0"], str(instances))

    state = connection.terminal_state
    info = state.account_information or {}
    over_rest = rest(f"{acc}/account-information")
    check("account information", info.get("balance") == over_rest["balance"]
          and info.get("login") == over_rest["login"], f"{info} vs {over_rest}")
    positions = state.positions
    check("the position", len(positions) == 1 and positions[0]["symbol"] == "EURUSD"
          and positions[0]["volume"] == 0.1, str(positions))
    orders = state.orders
    check("the pending order", len(orders) == 1 and orders[0]["type"] == "ORDER_TYPE_BUY_LIMIT",
          str(orders))
    symbols = {s["symbol"] for s in state.specifications}
    check("every symbol's specification", len(symbols) >= 30 and "EURUSD" in symbols, str(len(symbols)))

    history = connection.history_storage
    deals = history.deals
    check("the deposit and the trade in the deals", len(deals) >= 2
          and any(d["type"] == "DEAL_TYPE_BALANCE" for d in deals)
          and any(d.get("symbol") == "EURUSD" for d in deals), str(deals))
    check("the market order in the history orders",
          any(o.get("symbol") == "EURUSD" for o in history.history_orders), str(history.history_orders))

    # Changes after synchronization reach the terminal state as updates.
    rest("/sim/ticks", {"symbol": "GBPUSD", "bid": 1.27, "ask": 1.27015})
    sold = rest(f"{acc}/trade", {"actionType": "ORDER_TYPE_SELL", "symbol": "GBPUSD", "volume": 0.2})
    check("a market sell over REST", sold.get("stringCode") == "TRADE_RETCODE_DONE", str(sold))
    await eventually("the new position within two seconds",
                     lambda: any(p["symbol"] == "GBPUSD" for p in state.positions),
                     lambda: f"{state.positions}\n{inside(connection, acc)}", seconds=UPDATE_S)
    first = next(p for p in state.positions if p["symbol"] == "EURUSD")
    closed = rest(f"{acc}/trade", {"actionType": "POSITION_CLOSE_ID", "positionId": first["id"]})
    check("a close over REST", closed.get("stringCode") == "TRADE_RETCODE_DONE", str(closed))
    await eventually("the closed position leaves the terminal state",
                     lambda: all(p["symbol"] != "EURUSD" for p in state.positions),
                     lambda: str(state.positions), seconds=UPDATE_S)
    canceled = rest(f"{acc}/trade", {"actionType": "ORDER_CANCEL", "orderId": state.orders[0]["id"]})
    check("a cancel over REST", canceled.get("stringCode") == "TRADE_RETCODE_DONE", str(canceled))
    await eventually("the canceled order leaves the terminal state", lambda: state.orders == [],
                     lambda: str(state.orders), seconds=UPDATE_S)
    await eventually("the new deals reach the history storage",
                     lambda: sum(1 for d in history.deals if d.get("entryType") == "DEAL_ENTRY_OUT") == 1
                     and any(d.get("symbol") == "GBPUSD" for d in history.deals),
                     lambda: str(history.deals), seconds=UPDATE_S)
    await eventually("the balance follows the closed trade",
                     lambda: (state.account_information or {}).get("balance")
                     == rest(f"{acc}/account-information")["balance"],
                     lambda: str(state.account_information), seconds=UPDATE_S)

    # Quotes: a subscription with an interval, then a tick reaches the terminal state.
    await connection.subscribe_to_market_data("EURUSD", [{"type": "quotes", "intervalInMilliseconds": 200}])
    rest("/sim/ticks", {"symbol": "EURUSD", "bid": 1.1005, "ask": 1.10062})
    await eventually("a subscribed quote reaches the terminal state",
                     lambda: (state.price("EURUSD") or {}).get("bid") == 1.1005,
                     lambda: str(state.price("EURUSD")), seconds=UPDATE_S)
    await connection.unsubscribe_from_market_data("EURUSD", [{"type": "quotes"}])
    check("unsubscribed", True)

    # Undeployed, the account's instances get `disconnected`; deployed again, the SDK
    # subscribes and synchronizes again by itself.
    check("connected before the undeploy", state.connected, str(state.connected))
    await account.undeploy()
    await eventually("disconnected after the undeploy", lambda: not state.connected,
                     lambda: str(state.connected), seconds=UPDATE_S)
    await account.deploy()
    await account.wait_connected()
    await asyncio.wait_for(connection.wait_synchronized({"timeoutInSeconds": 60}), 70)
    check("synchronized again after the redeploy", state.connected
          and any(p["symbol"] == "GBPUSD" for p in state.positions), str(state.positions))

    await connection.close()
    api.close()
    finish()


asyncio.run(main())
