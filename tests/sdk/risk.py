"""The official MetaApi SDK's risk management client, unchanged, against drawbridge's risk
management API (risk-management-api-v1.<region>.<domain>): trackers, a drawdown breach seen
by get_tracker_events and by the tracker event listener's long poll, period statistics and
the equity chart. The breach is also pushed over the streaming API as a `synchronization`
packet of drawbridge's type `trackerEvent`: a bare socket.io client sees it, and the SDK's
own streaming connection, subscribed to the same account, ignores it without an error and
keeps its terminal state up to date. The SDK's live listeners (period statistics, equity
chart, equity and balance) start from the routes (realTime=true) and follow the account over
their streaming connection, which also gets drawbridge's `periodStatistics` and
`equityChart` packets: they keep working, the SDK logs no error, and a bare socket sees the
pushed values equal to the routes'. Subscribed to quotes on that connection, they compute
live figures from each price's `equity` and follow a drawdown, then a profit, to the routes'
figures. The sim API moves prices and time. Environment: see harness.py.
"""

import asyncio
import logging

import socketio
from harness import (DOMAIN, HOST, PORT, REGION, TOKEN, check, deployed_account, eventually, finish,
                     rest)
from metaapi_cloud_sdk import (EquityBalanceListener, EquityChartListener, MetaApi,
                               PeriodStatisticsListener, RiskManagement, TrackerEventListener)
from metaapi_cloud_sdk.logger import LoggerManager

# The SDK logs through `logging` (not print), so that `Errors` sees what it fails to process.
LoggerManager.use_logging()

# How long a listener, or the SDK's connection, may take to follow a change.
FOLLOW_S = 5


class Errors(logging.Handler):
    """Error records the SDK logs (a packet it failed to process, an event that failed, a
    listener's failure)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []

    def emit(self, record):
        self.records.append(record.getMessage())


async def raw_socket(account_id):
    """A bare socket.io client subscribed to the account; its `synchronization` packets."""
    packets = asyncio.Queue()
    client = socketio.AsyncClient(reconnection=False, ssl_verify=False)
    client.on("synchronization", lambda data: packets.put_nowait(data))
    responses = asyncio.Queue()
    client.on("response", lambda data: responses.put_nowait(data))
    url = f"https://mt-client-api-v1.{REGION}-a.{HOST}:{PORT}?auth-token={TOKEN}&clientId=0.7&protocol=3"
    await client.connect(url, socketio_path="ws", transports=["websocket"])
    await client.emit("request", {"type": "subscribe", "accountId": account_id,
                                  "requestId": "raw-1", "instanceIndex": 0})
    answer = await asyncio.wait_for(responses.get(), 10)
    check("a bare socket subscribes", answer.get("requestId") == "raw-1", str(answer))
    return client, packets


async def next_packet(packets, kind):
    while True:
        packet = await asyncio.wait_for(packets.get(), 10)
        if packet.get("type") == kind:
            return packet


class Listener(TrackerEventListener):
    """Records events; while it handles the first, a second tracker is created that breaches
    at once, so its event is stored between two of the listener's polls."""

    def __init__(self, account_id, tracker_id, rm):
        super().__init__(account_id, tracker_id)
        self.rm = rm
        self.events = []
        self.errors = []
        self.second = None

    async def on_tracker_event(self, tracker_event):
        self.events.append(tracker_event)
        if len(self.events) == 1:
            created = await self.rm.create_tracker(self.account_id, {
                "name": "sdk-second", "period": "day", "absoluteDrawdownThreshold": 0.5})
            self.second = created["id"]

    async def on_error(self, error):
        self.errors.append(error)


class StatsListener(PeriodStatisticsListener):
    def __init__(self, account_id, tracker_id):
        super().__init__(account_id, tracker_id)
        self.updates = []
        self.errors = []

    async def on_period_statistics_updated(self, period_statistics_event):
        self.updates.append(period_statistics_event)

    async def on_error(self, error):
        self.errors.append(error)


class ChartListener(EquityChartListener):
    def __init__(self, account_id):
        super().__init__(account_id)
        self.updates = []
        self.errors = []

    async def on_equity_record_updated(self, equity_chart_event):
        self.updates.append(equity_chart_event)

    async def on_error(self, error):
        self.errors.append(error)


class BalanceListener(EquityBalanceListener):
    def __init__(self, account_id):
        super().__init__(account_id)
        self.updates = []
        self.errors = []

    async def on_equity_or_balance_updated(self, equity_balance_data):
        self.updates.append(equity_balance_data)

    async def on_error(self, error):
        self.errors.append(error)


async def live_listeners(rm, account, errors):
    """The SDK's live listeners beside a bare socket, while prices move: they start from the
    routes (realTime=true), their connection gets the pushed packets too, and nothing fails.
    Then their connection subscribes to quotes and they follow the account live (see
    `live_following`)."""
    acc = f"/users/current/accounts/{account.id}"
    # The hour in progress opened at the clock's last advance with no input since: duration
    # 0. A minute passes and the price moves before the chart listener reads the hour, as on
    # a live feed: the listener divides by the hour's duration at each price (a
    # ZeroDivisionError while it is 0), and weighs the time between the hour's brokerTime and
    # its first price by the equity it has then, not the one held meanwhile.
    rest("/sim/clock/advance", {"seconds": 60})
    rest("/sim/ticks", {"symbol": "EURUSD", "bid": 1.0986, "ask": 1.09862})
    watch = (await rm.create_tracker(account.id, {
        "name": "sdk-watch", "period": "day", "absoluteProfitThreshold": 100000}))["id"]
    errors.records.clear()
    stats, chart, balance = StatsListener(account.id, watch), ChartListener(account.id), \
        BalanceListener(account.id)
    # The equity/balance listener first: it hears the account information of the
    # synchronization its connection starts (the others share the connection).
    ids = (await rm.add_equity_balance_listener(balance, account.id),
           await rm.add_period_statistics_listener(stats, account.id, watch),
           await rm.add_equity_chart_listener(chart, account.id))
    raw, packets = await raw_socket(account.id)

    await eventually("the period statistics listener starts from the route",
                     lambda: stats.updates, lambda: f"{stats.errors}", seconds=FOLLOW_S)
    route = await rm.get_tracking_statistics(account.id, watch, None, None, True)
    check("its first update is the route's current period", stats.updates[0] == route,
          f"{stats.updates[0]} {route}")
    await eventually("the equity chart listener starts from the route",
                     lambda: chart.updates, lambda: f"{chart.errors}", seconds=FOLLOW_S)
    route = await rm.get_equity_chart(account.id, None, None, True)
    check("its first update is the route's chart", chart.updates[0] == route,
          f"{chart.updates[0]} {route}")
    await eventually("the equity/balance listener has the account",
                     lambda: balance.updates, lambda: f"{balance.errors}", seconds=FOLLOW_S)
    info = rest(f"{acc}/account-information")
    check("equity and balance as the account has them",
          balance.updates[-1] == {"equity": info["equity"], "balance": info["balance"]},
          f"{balance.updates} {info}")

    # Prices move: the socket gets the coalesced updates, the routes' values.
    for k in range(1, 11):
        rest("/sim/ticks", {"symbol": "EURUSD", "bid": 1.0985 - 0.0001 * k,
                            "ask": 1.09852 - 0.0001 * k})
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.6)
    route = (await rm.get_tracking_statistics(account.id, watch, None, None, True))[0]
    pushed = None
    while pushed != route:
        packet = await next_packet(packets, "periodStatistics")
        check("a pushed packet carries no instance sequence number",
              "sequenceNumber" not in packet, str(packet))
        if packet["trackerId"] == watch:
            pushed = packet["periodStatistics"]
    check("the last statistics update pushed is the route's", pushed == route, f"{pushed} {route}")
    hour = (await rm.get_equity_chart(account.id, None, None, True))[-1]
    item = None
    while item != hour:
        item = (await next_packet(packets, "equityChart"))["equityChart"][0]
    check("the last chart update pushed is the route's", item == hour, f"{item} {hour}")
    await raw.disconnect()

    await live_following(rm, account, watch, stats, chart, balance)
    for listener in (stats, chart, balance):
        check(f"{type(listener).__name__} reported no error", listener.errors == [],
              str(listener.errors))
    check("the SDK logged no error for the pushed packet types", errors.records == [],
          str(errors.records))
    rm.remove_equity_balance_listener(ids[0])
    rm.remove_period_statistics_listener(ids[1])
    rm.remove_equity_chart_listener(ids[2])
    await rm.delete_tracker(account.id, watch)


async def live_following(rm, account, watch, stats, chart, balance):
    """The listeners compute live figures client-side from the `prices` packets of their own
    connection, reading each price's `equity`: subscribed to quotes of the open position's
    symbol, they follow a fall to a new drawdown and a rise to a profit, each a minute of
    broker time later, to the routes' figures (realTime=true)."""
    acc = f"/users/current/accounts/{account.id}"
    # Each stream manager opens its connection with get_streaming_connection of the MetaApi
    # the RiskManagement made; all three are instances of one connection of that MetaApi, so
    # one market-data subscription feeds them all.
    mine = (rm._equity_balance_stream_manager._equity_balance_connections[account.id],
            rm._period_statistics_stream_manager._period_statistics_connections[account.id],
            rm._equity_chart_stream_manager._equity_chart_connections[account.id])
    check("the three listeners share one streaming connection",
          len({id(c._meta_api_connection) for c in mine}) == 1, str(mine))
    symbols = {p["symbol"] for p in rest(f"{acc}/positions")}
    check("the account has an open EURUSD position", symbols == {"EURUSD"}, str(symbols))
    await asyncio.wait_for(mine[0].subscribe_to_market_data(
        "EURUSD", [{"type": "quotes", "intervalInMilliseconds": 100}]), 30)

    for bid, what in ((1.0960, "a new drawdown"), (1.1030, "a profit")):
        # Broker time passes (the chart's average is weighted by it), then the price moves.
        rest("/sim/clock/advance", {"seconds": 60})
        rest("/sim/ticks", {"symbol": "EURUSD", "bid": bid, "ask": round(bid + 0.00002, 6)})
        info = rest(f"{acc}/account-information")
        await eventually(f"after {what}, the equity/balance listener has the account's equity",
                         lambda: balance.updates[-1] == {"equity": info["equity"],
                                                         "balance": info["balance"]},
                         lambda: f"{balance.updates[-3:]} {info}", seconds=FOLLOW_S)
        period = (await rm.get_tracking_statistics(account.id, watch, None, None, True))[0]
        await eventually(f"after {what}, the statistics listener's period is the route's",
                         lambda: same_period(stats.updates[-1][-1], period),
                         lambda: f"{stats.updates[-1]} {period}", seconds=FOLLOW_S)
        hour = (await rm.get_equity_chart(account.id, None, None, True))[-1]
        await eventually(f"after {what}, the chart listener's hour is the route's",
                         lambda: same_hour(chart.updates[-1][-1], hour, info["equity"]),
                         lambda: f"{chart.updates[-1][-1]} {hour} {info}", seconds=FOLLOW_S)
    check("the listeners followed a drawdown, then a profit", period["maxAbsoluteProfit"] > 0
          and period["maxAbsoluteDrawdown"] > 0 and period["maxProfitTime"] > period["maxDrawdownTime"],
          str(period))


def close(a, b):
    """Equal up to float arithmetic: the SDK subtracts equity from the initial balance and
    divides by it, the server computes in exact money."""
    return a is not None and b is not None and abs(a - b) < 1e-6 * max(1, abs(b))


def same_period(live, route):
    """The SDK's live record (drawdown and profit from each price's equity) and the route's."""
    exact = ("startBrokerTime", "endBrokerTime", "period", "initialBalance", "maxDrawdownTime",
             "maxProfitTime", "thresholdExceeded", "tradeDayCount")
    figures = ("maxAbsoluteDrawdown", "maxRelativeDrawdown", "maxAbsoluteProfit",
               "maxRelativeProfit")
    return all(live.get(k) == route.get(k) for k in exact) \
        and all(close(live.get(k), route.get(k)) for k in figures)


def same_hour(live, route, equity):
    """The SDK's live hour (min, max, last and the time-weighted average of each price's
    equity, the average floored by the SDK) and the route's."""
    exact = ("startBrokerTime", "endBrokerTime", "minEquity", "maxEquity", "minBalance",
             "maxBalance", "lastBalance")
    return live.get("lastEquity") == equity == route.get("lastEquity") \
        and all(live.get(k) == route.get(k) for k in exact) \
        and -1 - 1e-6 < live.get("averageEquity", 0) - route["averageEquity"] < 1e-6 \
        and close(live.get("averageBalance"), route.get("averageBalance"))


async def main():
    api = MetaApi(TOKEN, {"domain": DOMAIN, "requestTimeout": 30, "retryOpts": {"retries": 1}})
    account = await deployed_account(api, "risk")
    acc = f"/users/current/accounts/{account.id}"
    rest("/sim/feed", {"paused": True})
    rest("/sim/ticks", {"symbol": "EURUSD", "bid": 1.1, "ask": 1.10002})

    risk = RiskManagement(TOKEN, {"domain": DOMAIN, "retryOpts": {"retries": 1}})
    rm = risk.risk_management_api
    try:
        await rm.get_trackers(account.id)
        check("refused before riskManagementApiEnabled", False)
    except Exception as err:
        check("refused before riskManagementApiEnabled",
              err.__class__.__name__ == "ForbiddenException", repr(err))
    await account.enable_risk_management_api()

    created = await rm.create_tracker(account.id, {
        "name": "sdk-daily", "period": "day", "absoluteDrawdownThreshold": 100})
    tracker_id = created["id"]
    check("create_tracker answers an id", isinstance(tracker_id, str) and tracker_id, str(created))
    try:
        await rm.create_tracker(account.id, {"name": "bad", "period": "fortnight"})
        check("an invalid tracker is a ValidationException", False)
    except Exception as err:
        check("an invalid tracker is a ValidationException",
              err.__class__.__name__ == "ValidationException", repr(err))
    trackers = await rm.get_trackers(account.id)
    check("get_trackers", [t["_id"] for t in trackers] == [tracker_id], str(trackers))
    tracker = await rm.get_tracker(account.id, tracker_id)
    check("get_tracker", tracker["name"] == "sdk-daily" and tracker["period"] == "day"
          and tracker["absoluteDrawdownThreshold"] == 100, str(tracker))
    await rm.update_tracker(account.id, tracker_id, {"name": "sdk daily"})
    by_name = await rm.get_tracker_by_name(account.id, "sdk daily")
    check("update_tracker and get_tracker_by_name", by_name["_id"] == tracker_id, str(by_name))

    # This SDK sends no previousSequenceNumber (nor any filter): its first poll starts from
    # the latest event, and each later one where the previous answer left it, so an event
    # stored between two polls is not lost (the second tracker's, below).
    listener = Listener(account.id, tracker_id, rm)
    listener_id = rm.add_tracker_event_listener(listener, account.id, tracker_id)

    # The SDK's streaming connection and a bare socket, both subscribed to the account.
    errors = Errors()
    logging.getLogger().addHandler(errors)
    connection = account.get_streaming_connection()
    await connection.connect()
    await connection.wait_synchronized({"timeoutInSeconds": 30})
    raw, packets = await raw_socket(account.id)
    await asyncio.sleep(1)

    bought = rest(f"{acc}/trade", {"actionType": "ORDER_TYPE_BUY", "symbol": "EURUSD", "volume": 1})
    check("a 1-lot buy", bought.get("stringCode") == "TRADE_RETCODE_DONE", str(bought))
    rest("/sim/ticks", {"symbol": "EURUSD", "bid": 1.0985, "ask": 1.09852})
    equity = rest(f"{acc}/account-information")["equity"]

    events = []

    async def poll():
        events[:] = await rm.get_tracker_events(None, None, account.id, tracker_id)

    for _ in range(50):
        await poll()
        if events:
            break
        await asyncio.sleep(0.1)
    check("get_tracker_events has the breach", len(events) == 1, str(events))
    event = events[0]
    check("the event", event["trackerId"] == tracker_id and event["accountId"] == account.id
          and event["exceededThresholdType"] == "drawdown" and event["period"] == "day"
          and abs(event["absoluteDrawdown"] - (10000 - equity)) < 1e-6, str(event))
    check("its broker time is the trade server's", event["brokerTime"] == "2026-01-07 12:00:00.000",
          str(event))
    # (The listener's second tracker breaches at the same broker time: filtered out here.)
    ranged = await rm.get_tracker_events("2026-01-07 12:00:00.000", "2026-01-07 12:00:00.000",
                                         account.id, tracker_id)
    check("get_tracker_events by broker time range", ranged == events, str(ranged))
    later = await rm.get_tracker_events("2026-01-07 12:00:00.001")
    check("and outside it", later == [], str(later))

    await eventually("the listener received the event and the one stored between its polls",
                     lambda: len(listener.events) == 2, lambda: f"{listener.events} {listener.errors}",
                     seconds=FOLLOW_S)
    check("the listener's events are the stored ones, in order",
          [e["sequenceNumber"] for e in listener.events]
          == [event["sequenceNumber"], event["sequenceNumber"] + 1]
          and listener.events[1]["trackerId"] == listener.second, str(listener.events))
    rm.remove_tracker_event_listener(listener_id)
    await rm.delete_tracker(account.id, listener.second)

    pushed = await next_packet(packets, "trackerEvent")
    check("the breach is pushed to the subscribed socket as it is stored",
          pushed["accountId"] == account.id and pushed["instanceIndex"] == 0
          and "sequenceNumber" not in pushed
          and pushed["trackerEvent"]["sequenceNumber"] == event["sequenceNumber"]
          and pushed["trackerEvent"]["trackerId"] == tracker_id
          and pushed["trackerEvent"]["exceededThresholdType"] == "drawdown", str(pushed))
    await raw.disconnect()
    # A pending order far from the price: an `update` packet the SDK must still apply.
    placed = rest(f"{acc}/trade", {"actionType": "ORDER_TYPE_BUY_LIMIT", "symbol": "EURUSD",
                                   "volume": 0.01, "openPrice": 1.0})
    await eventually("the SDK's connection, sent the same packet, still follows the account",
                     lambda: [o["id"] for o in connection.terminal_state.orders] == [placed.get("orderId")],
                     lambda: f"{placed} {connection.terminal_state.orders}", seconds=FOLLOW_S)
    check("the SDK logged no error for the unknown packet type", errors.records == [], str(errors.records))
    await connection.close()

    stats = await rm.get_tracking_statistics(account.id, tracker_id)
    check("get_tracking_statistics: the current period, exceeded", len(stats) == 1
          and stats[0]["thresholdExceeded"] is True and stats[0]["exceededThresholdType"] == "drawdown"
          and stats[0]["initialBalance"] == 10000
          and abs(stats[0]["maxAbsoluteDrawdown"] - (10000 - equity)) < 1e-6, str(stats))
    live = await rm.get_tracking_statistics(account.id, tracker_id, None, 2, True)
    check("real-time statistics", live == stats, str(live))

    chart = await rm.get_equity_chart(account.id)
    check("get_equity_chart: the hour in progress", len(chart) == 1
          and chart[0]["startBrokerTime"] == "2026-01-07 12:00:00.000"
          and chart[0]["minEquity"] == equity and chart[0]["maxEquity"] == 10000, str(chart))
    rest("/sim/clock/advance", {"seconds": 7200})
    for _ in range(50):
        chart = await rm.get_equity_chart(account.id, None, None, True)
        if len(chart) == 2:
            break
        await asyncio.sleep(0.1)
    check("two hours later: the completed hour and the current one", len(chart) == 2
          and chart[1]["startBrokerTime"] == "2026-01-07 14:00:00.000", str(chart))
    filled = await rm.get_equity_chart(account.id, "2026-01-07 12:00:00.000", None, True, True)
    check("the SDK's fill_skips fills the hour without input", len(filled) == 3
          and filled[1]["startBrokerTime"] == "2026-01-07 13:00:00.000", str(filled))

    await live_listeners(rm, account, errors)

    await rm.delete_tracker(account.id, tracker_id)
    check("delete_tracker", await rm.get_trackers(account.id) == [])
    api.close()
    finish()


asyncio.run(main())
