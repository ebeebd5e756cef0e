"""The official MetaApi SDK's market data streaming, unchanged: subscribe_to_market_data with
quotes, candles, ticks and market depth reaches the terminal state and the listeners'
on_symbol_prices_updated / on_candles_updated / on_ticks_updated / on_books_updated; an
unsubscription by type stops that type only, one without types stops the symbol; a
subscription not refreshed within 12 minutes of the server's (virtual) clock expires, one
refreshed with refreshMarketDataSubscriptions lives on. The account has two replicas
(`reliability` "high"): both of the SDK's instances synchronize. Environment: see harness.py.
"""

import asyncio

from harness import DOMAIN, TOKEN, check, deployed_account, eventually, finish, rest
from metaapi_cloud_sdk import MetaApi, SynchronizationListener

# How long a pushed packet may take to reach the SDK's listeners and terminal state.
PUSH_S = 3


class Seen(SynchronizationListener):
    """Everything the market data listeners were given."""

    def __init__(self):
        super().__init__()
        self.clear()

    def clear(self):
        self.prices, self.candles, self.ticks, self.books = [], [], [], []

    async def on_symbol_prices_updated(self, instance_index, prices, equity=None, margin=None,
                                       free_margin=None, margin_level=None, rate=None):
        self.prices.extend((p, equity, margin, free_margin) for p in prices)

    async def on_candles_updated(self, instance_index, candles, *args):
        self.candles.extend(candles)

    async def on_ticks_updated(self, instance_index, ticks, *args):
        self.ticks.extend(ticks)

    async def on_books_updated(self, instance_index, books, *args):
        self.books.extend(books)


def replicas(connection):
    """What the SDK holds of each replica, for a failure's detail."""
    states = connection._meta_api_connection._state_by_instance_index.items()
    return "; ".join(f"{index}: " + ", ".join(f"{k}={s.get(k)}" for k in (
        "authenticated", "shouldSynchronize", "synchronized", "ordersSynchronized",
        "dealsSynchronized")) for index, s in states)


def tick(symbol, bid, spread):
    rest("/sim/ticks", {"symbol": symbol, "bid": bid, "ask": round(bid + spread, 6)})


async def main():
    # The SDK's own refresh (every 1-600 s, uniformly random) is pushed out of the test's way,
    # so that expiry is decided by the explicit refresh below.
    api = MetaApi(TOKEN, {"domain": DOMAIN, "requestTimeout": 30, "retryOpts": {"retries": 1},
                          "refreshSubscriptionsOpts": {"minDelayInSeconds": 3000, "maxDelayInSeconds": 3600}})
    account = await deployed_account(api, "market", reliability="high")
    connection = account.get_streaming_connection()
    await asyncio.wait_for(connection.connect(), 30)
    await asyncio.wait_for(connection.wait_synchronized({"timeoutInSeconds": 60}), 70)
    # Both replicas are served: each one's `authenticated` made the SDK start synchronizing it.
    def authenticated():
        states = list(connection._meta_api_connection._state_by_instance_index.values())
        return sorted(s["instanceIndex"].split(":")[1] for s in states if s.get("shouldSynchronize"))
    await eventually("both replicas of a high-reliability account are authenticated",
                     lambda: authenticated() == ["0", "1"], lambda: replicas(connection), seconds=20)
    # Both complete their synchronization in the SDK. The server synchronizes an account's
    # replicas one after the other (`streaming::sync::Turns`): the SDK drops packets of a
    # second replica's synchronization that arrive while it takes in the first.
    synchronized = set()
    for _ in range(200):
        for s in list(connection._meta_api_connection._state_by_instance_index.values()):
            if await connection._meta_api_connection.is_synchronized(s["instanceIndex"]):
                synchronized.add(s["instanceIndex"].split(":")[1])
        if synchronized == {"0", "1"}:
            break
        await asyncio.sleep(0.1)
    check("both replicas of a high-reliability account synchronize", synchronized == {"0", "1"},
          f"only {synchronized}; account {account.id}; {replicas(connection)}")
    seen = Seen()
    connection.add_synchronization_listener(seen)
    state = connection.terminal_state

    tick("EURUSD", 1.1, 0.00012)
    fast = {"intervalInMilliseconds": 100}
    await asyncio.wait_for(connection.subscribe_to_market_data("EURUSD", [
        {"type": "quotes", **fast}, {"type": "candles", "timeframe": "1m", **fast},
        {"type": "ticks"}, {"type": "marketDepth", **fast}]), 30)
    check("the first quote is in the terminal state", (state.price("EURUSD") or {}).get("bid") == 1.1,
          str(state.price("EURUSD")))
    await eventually("the current 1m candle arrives", lambda: any(
        c["symbol"] == "EURUSD" and c["timeframe"] == "1m" for c in seen.candles), lambda: str(seen.candles),
        seconds=PUSH_S)
    await eventually("the current book arrives", lambda: any(b["symbol"] == "EURUSD" for b in seen.books),
                     lambda: str(seen.books), seconds=PUSH_S)

    tick("EURUSD", 1.1007, 0.00012)
    await eventually("a new quote reaches the terminal state",
                     lambda: (state.price("EURUSD") or {}).get("bid") == 1.1007, lambda: str(state.price("EURUSD")),
                     seconds=PUSH_S)
    _, equity, margin, free_margin = seen.prices[-1]
    info = rest(f"/users/current/accounts/{account.id}/account-information")
    check("prices carry the account's equity and margin", equity == info["equity"]
          and margin == info["margin"] and free_margin == info["freeMargin"], f"{seen.prices[-1]} vs {info}")
    check("each price carries the account's equity too (the SDK's risk listeners read it)",
          seen.prices[-1][0].get("equity") == info["equity"], f"{seen.prices[-1]} vs {info}")
    await eventually("the candle follows the quote", lambda: any(
        c["timeframe"] == "1m" and c["close"] == 1.1007 for c in seen.candles), lambda: str(seen.candles[-3:]),
        seconds=PUSH_S)
    await eventually("the tick arrives", lambda: any(t.get("bid") == 1.1007 for t in seen.ticks),
                     lambda: str(seen.ticks[-3:]), seconds=PUSH_S)
    await eventually("the book follows the quote", lambda: any(
        b["book"] and min(e["price"] for e in b["book"] if e["type"] == "BOOK_TYPE_SELL") >= 1.1007
        and max(e["price"] for e in b["book"] if e["type"] == "BOOK_TYPE_BUY") <= 1.1007 + 1e-9
        and any(e["type"] == "BOOK_TYPE_BUY" and abs(e["price"] - 1.1007) < 1e-9 for e in b["book"])
        for b in seen.books), lambda: str(seen.books[-1:]), seconds=PUSH_S)

    # Unsubscribing candles stops candles only.
    await connection.unsubscribe_from_market_data("EURUSD", [{"type": "candles"}])
    await asyncio.sleep(0.3)
    seen.clear()
    tick("EURUSD", 1.1011, 0.00012)
    await eventually("quotes go on without candles", lambda: (state.price("EURUSD") or {}).get("bid") == 1.1011,
                     lambda: str(state.price("EURUSD")), seconds=PUSH_S)
    await eventually("ticks go on without candles", lambda: any(t.get("bid") == 1.1011 for t in seen.ticks),
                     lambda: str(seen.ticks), seconds=PUSH_S)
    await asyncio.sleep(0.5)
    check("no candle after unsubscribing candles", seen.candles == [], str(seen.candles))

    # Unsubscribing the symbol stops everything.
    await connection.unsubscribe_from_market_data("EURUSD")
    await asyncio.sleep(0.3)
    seen.clear()
    tick("EURUSD", 1.1015, 0.00012)
    await asyncio.sleep(1)
    check("nothing after unsubscribing the symbol", seen.prices == [] and seen.ticks == []
          and seen.books == [] and (state.price("EURUSD") or {}).get("bid") == 1.1011,
          f"{seen.prices} {seen.ticks} {seen.books} {state.price('EURUSD')}")

    # Expiry on the server's clock: both subscribed now, only GBPUSD refreshed 11 minutes later.
    for symbol, bid in (("GBPUSD", 1.27), ("USDJPY", 150.0)):
        tick(symbol, bid, 0.0002)
        await asyncio.wait_for(connection.subscribe_to_market_data(symbol, [{"type": "quotes", **fast}]), 30)
    rest("/sim/clock/advance", {"seconds": 660})
    client = connection._websocket_client
    for instance in (0, 1):
        await client.refresh_market_data_subscriptions(account.id, instance, [
            {"symbol": "GBPUSD", "subscriptions": [{"type": "quotes", **fast}]}])
    rest("/sim/clock/advance", {"seconds": 120})
    await asyncio.sleep(0.5)
    tick("GBPUSD", 1.2777, 0.0002)
    tick("USDJPY", 151.111, 0.02)
    await eventually("a refreshed subscription lives on", lambda: (state.price("GBPUSD") or {}).get("bid") == 1.2777,
                     lambda: str(state.price("GBPUSD")), seconds=PUSH_S)
    await asyncio.sleep(0.5)
    check("an unrefreshed one expired after 12 minutes", (state.price("USDJPY") or {}).get("bid") != 151.111,
          str(state.price("USDJPY")))
    # The SDK's refresh restores what it still holds (as after a reconnect).
    for instance in (0, 1):
        await client.refresh_market_data_subscriptions(account.id, instance, [
            {"symbol": s, "subscriptions": [{"type": "quotes", **fast}]} for s in connection.subscribed_symbols])
    tick("USDJPY", 151.222, 0.02)
    await eventually("a refresh restores an expired subscription",
                     lambda: (state.price("USDJPY") or {}).get("bid") == 151.222, lambda: str(state.price("USDJPY")),
                     seconds=PUSH_S)

    await connection.close()
    api.close()
    finish()


asyncio.run(main())
