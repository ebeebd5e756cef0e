"""The official MetaApi SDK's RPC connection, unchanged, over drawbridge's streaming API:
connect (socket.io at /ws on the -a and -b hosts, subscribe, authenticated), wait_synchronized
(waitSynchronized), then reads compared with the REST answers. Environment: see
harness.py.
"""

import asyncio
import datetime

from harness import DOMAIN, TOKEN, check, deployed_account, finish, rest
from metaapi_cloud_sdk import MetaApi


async def main():
    api = MetaApi(TOKEN, {"domain": DOMAIN, "requestTimeout": 30, "retryOpts": {"retries": 1}})
    account = await deployed_account(api, "rpc", balance=25000)

    connection = account.get_rpc_connection()
    await asyncio.wait_for(connection.connect(), 30)
    check("rpc connection opened", True)
    await asyncio.wait_for(connection.wait_synchronized(timeout_in_seconds=30), 40)
    check("rpc connection synchronized", True)

    info = await connection.get_account_information()
    check("account information over the socket", info.get("balance") == 25000, str(info))
    over_rest = rest(f"/users/current/accounts/{account.id}/account-information")
    check("the socket and REST agree on the account", info.get("login") == over_rest.get("login")
          and info.get("equity") == over_rest.get("equity"), f"{info} vs {over_rest}")

    positions = await connection.get_positions()
    check("positions over the socket", positions == [], str(positions))

    # The server runs on a virtual clock with the feed paused: quote EURUSD by hand.
    rest("/sim/ticks", {"symbol": "EURUSD", "bid": 1.1, "ask": 1.10012})
    price = await connection.get_symbol_price("EURUSD")
    check("a symbol price over the socket", price.get("symbol") == "EURUSD"
          and price.get("bid") == 1.1 and price.get("ask") == 1.10012, str(price))

    # Every read the SDK's RPC connection offers, relayed to the REST routes.
    server_time = await connection.get_server_time()
    check("server time", "time" in server_time and "brokerTime" in server_time, str(server_time))
    symbols = await connection.get_symbols()
    check("symbols", "EURUSD" in symbols and len(symbols) >= 30, str(len(symbols)))
    spec = await connection.get_symbol_specification("EURUSD")
    check("a specification", spec.get("symbol") == "EURUSD" and spec.get("digits") == 5, str(spec))
    tick = await connection.get_tick("EURUSD")
    check("a tick", tick.get("bid") == 1.1, str(tick))
    book = await connection.get_book("EURUSD")
    check("a book", len(book.get("book", [])) > 0, str(book)[:200])
    candle = await connection.get_candle("EURUSD", "1m")
    check("a current candle", candle.get("symbol") == "EURUSD" and candle.get("timeframe") == "1m"
          and candle.get("close") == 1.1, str(candle))

    # Requests the SDK's websocket client makes outside the RPC connection's own methods.
    client = api._metaapi_websocket_client  # the SDK's own client, as its connections use it
    margin = await client.calculate_margin(account.id, "RPC", "regular", {
        "symbol": "EURUSD", "type": "ORDER_TYPE_BUY", "volume": 1, "openPrice": 1.1})
    # 1 lot of EURUSD at 1.1 with 1:100 leverage on a USD account: 100,000 × 1.1 / 100.
    check("margin of an order", abs(margin.get("margin", 0) - 1100) < 1, str(margin))
    refreshed = await client.refresh_symbol_quotes(account.id, ["EURUSD"])
    check("refreshed quotes", [q["symbol"] for q in refreshed.get("quotes", [])] == ["EURUSD"]
          and refreshed.get("balance") == 25000, str(refreshed))
    await client.save_uptime(account.id, {"1h": 100})
    check("uptime accepted", True)

    # Trades over the socket, each seen by REST at once.
    acc = f"/users/current/accounts/{account.id}"
    bought = await connection.create_market_buy_order("EURUSD", 0.1)
    check("a market buy over the socket", bought["stringCode"] == "TRADE_RETCODE_DONE", str(bought))
    position_id = bought["positionId"]
    check("the position over REST", any(p["id"] == position_id for p in rest(f"{acc}/positions")))
    await connection.modify_position(position_id, stop_loss=1.05, take_profit=1.2)
    moved = rest(f"{acc}/positions/{position_id}")
    check("SL/TP modified", moved.get("stopLoss") == 1.05 and moved.get("takeProfit") == 1.2, str(moved))
    await connection.close_position_partially(position_id, 0.04)
    check("a partial close", abs(rest(f"{acc}/positions/{position_id}")["volume"] - 0.06) < 1e-9)
    placed = await connection.create_limit_buy_order("EURUSD", 0.1, 1.0)
    order_id = placed["orderId"]
    check("a buy limit over the socket", any(o["id"] == order_id for o in rest(f"{acc}/orders")))
    await connection.modify_order(order_id, 1.01)
    check("the order modified", rest(f"{acc}/orders/{order_id}")["openPrice"] == 1.01)
    await connection.cancel_order(order_id)
    check("the order canceled", rest(f"{acc}/orders") == [])
    await connection.close_position(position_id)
    check("closed by id", rest(f"{acc}/positions") == [])
    await connection.create_market_sell_order("EURUSD", 0.1)
    await connection.create_market_sell_order("EURUSD", 0.2)
    await connection.close_positions_by_symbol("EURUSD")
    check("closed by symbol", rest(f"{acc}/positions") == [])
    history = await connection.get_deals_by_time_range(
        datetime.datetime(2020, 1, 1), datetime.datetime(2030, 1, 1))
    check("history deals by time range", len(history["deals"]) >= 6 and history["synchronizing"] is False,
          str(len(history["deals"])))
    async def refusal(coroutine):
        try:
            await coroutine
        except Exception as err:  # noqa: BLE001 - the class is what is checked
            return err
        return None

    # 50 lots at 1:100 hold 55,000 USD of margin against a 25,000 USD balance.
    rejected = await refusal(connection.create_market_buy_order("EURUSD", 50))
    check("no money is a TradeException", type(rejected).__name__ == "TradeException"
          and rejected.stringCode == "TRADE_RETCODE_NO_MONEY", repr(rejected))
    bad = await refusal(client.calculate_margin(account.id, "RPC", "regular", {
        "symbol": "EURUSD", "type": "ORDER_TYPE_BUY_LIMIT", "volume": -1}))
    check("a bad margin order is a ValidationException naming each field",
          type(bad).__name__ == "ValidationException"
          and sorted(d["parameter"] for d in bad.details) == ["openPrice", "type", "volume"], repr(bad))
    rejected = await refusal(connection.create_market_buy_order("EURUSD", 0.015))
    check("a volume off the step is a ValidationException",
          type(rejected).__name__ == "ValidationException", repr(rejected))

    await connection.close()
    api.close()
    finish()


asyncio.run(main())
